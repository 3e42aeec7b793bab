// The bridge between threads: one ThreadSafeFunction per JS environment, kept in a table
// under a mutex. Other threads call a TSFN only while holding that mutex, and an
// environment's cleanup hook removes its TSFN (under the mutex) before aborting it, so
// nothing is ever sent to a thread that is gone.
#pragma once

#include <node_api.h>

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "flight_table.h"
#include "protocol.h"
#include "table_registry.h"

namespace threadflight {

using Bytes = std::vector<uint8_t>;

// One notification to one thread. Owns the receiver's part in the flight: when the message
// is destroyed, an outcome is acknowledged and a lead that was not taken is passed on, so
// a message that is dropped (the thread died) still releases what it held.
class Message {
 public:
  // `kind` is a MessageKind, possibly with kSharedFlag.
  Message(std::shared_ptr<FlightTable> table, Notice notice, int32_t kind, std::shared_ptr<const Bytes> payload);
  ~Message();
  Message(const Message&) = delete;
  Message& operator=(const Message&) = delete;

  EnvId to() const { return notice_.to.env; }
  int32_t kind() const { return kind_; }
  MessageKind base_kind() const { return static_cast<MessageKind>(kind_ & ~kSharedFlag); }
  // The flight, as the receiving thread finds it: its table, its key, its id.
  uint64_t table_id() const { return table_->id(); }
  std::string_view key() const { return notice_.flight->key.view(); }
  uint64_t flight_id() const { return notice_.flight->id; }
  const Bytes* payload() const { return payload_.get(); }
  // The receiving thread took the lead: it will settle the flight itself.
  void accept_lead() { lead_accepted_ = true; }

  // Messages to be addressed later (with Notice{} meanwhile, a message that is destroyed does
  // nothing): all are made before any notice is moved into one, so that running out of memory
  // while making them drops no notice and releases no participant who was not told.
  static std::vector<std::unique_ptr<Message>> unaddressed(const std::shared_ptr<FlightTable>& table, size_t count,
                                                           int32_t kind, const std::shared_ptr<const Bytes>& payload);
  void address(Notice notice) noexcept { notice_ = std::move(notice); }

 private:
  std::shared_ptr<FlightTable> table_;
  Notice notice_;
  int32_t kind_;
  std::shared_ptr<const Bytes> payload_;
  bool lead_accepted_ = false;
};

class Bridge {
 public:
  static Bridge& global();

  void attach(EnvId env, napi_threadsafe_function tsfn);
  // Removes the environment; returns its TSFN (for the caller to abort), or null.
  napi_threadsafe_function detach(EnvId env);

  // Queues each message on its thread's TSFN. Messages for threads that are gone are
  // destroyed, which acknowledges or passes them on.
  void send(std::vector<std::unique_ptr<Message>> messages);
  // A message of `kind` (with `payload`) to each of `notices`, about flights of `table`; every
  // message is made before any is addressed (see Message::unaddressed). Empties `notices`.
  void send_outcome(const std::shared_ptr<FlightTable>& table, std::vector<Notice>& notices, int32_t kind,
                    std::shared_ptr<const Bytes> payload);
  // kLead to each new leader, or kAbandon to each leader nobody waits for any more, of
  // flights of `table`.
  void send_to_leaders(const std::shared_ptr<FlightTable>& table, std::vector<Notice>& notices, MessageKind kind);

 private:
  std::mutex mutex_;
  std::unordered_map<EnvId, napi_threadsafe_function> envs_;
};

// The TSFN's call_js: hands a message to the thread's JS handler as
// handler(kind, tableId, key, flightId, payload) (or, when the environment is shutting down,
// just destroys it). For kLead the handler returns whether it took the lead.
void DeliverMessage(napi_env env, napi_value handler, void* context, void* data);

}  // namespace threadflight
