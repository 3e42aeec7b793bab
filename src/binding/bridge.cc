#include "bridge.h"

#include <new>
#include <type_traits>

namespace threadflight {

Message::Message(std::shared_ptr<FlightTable> table, Notice notice, int32_t kind, std::shared_ptr<const Bytes> payload)
    : table_(std::move(table)), notice_(std::move(notice)), kind_(kind), payload_(std::move(payload)) {}

Message::~Message() {
  if (!notice_.flight) return;  // never addressed (see unaddressed())
  switch (base_kind()) {
    case MessageKind::kAbandon:
      return;  // the leader keeps its part until it settles
    case MessageKind::kLead: {
      if (lead_accepted_) return;
      // A destructor must not throw. The message to the next waiter is made before the table
      // hands that waiter the flight: out of memory, nothing changes, and the flight stays
      // with this thread's participant (its waiters are then released by their maxDuration).
      try {
        std::vector<std::unique_ptr<Message>> to_next = unaddressed(table_, 1, kind_, nullptr);
        std::vector<Notice> next;
        next.reserve(1);  // a decline hands the flight to one waiter at most
        table_->decline_lead(notice_, next);
        if (next.empty()) return;
        to_next.front()->address(std::move(next.front()));
        Bridge::global().send(std::move(to_next));
      } catch (const std::bad_alloc&) {
      }
      return;
    }
    default:
      table_->acknowledge(notice_);
  }
}

Bridge& Bridge::global() {
  // Never destroyed: other threads may still send while the process exits.
  static std::aligned_storage_t<sizeof(Bridge), alignof(Bridge)> storage;
  static Bridge* bridge = ::new (&storage) Bridge();
  return *bridge;
}

void Bridge::attach(EnvId env, napi_threadsafe_function tsfn) {
  std::lock_guard<std::mutex> lock(mutex_);
  envs_[env] = tsfn;
}

napi_threadsafe_function Bridge::detach(EnvId env) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = envs_.find(env);
  if (it == envs_.end()) return nullptr;
  napi_threadsafe_function tsfn = it->second;
  envs_.erase(it);
  return tsfn;
}

void Bridge::send(std::vector<std::unique_ptr<Message>> messages) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    for (auto& message : messages) {
      auto it = envs_.find(message->to());
      // Queue size 0 (unbounded) and non-blocking: never waits on another thread's queue.
      if (it != envs_.end() &&
          napi_call_threadsafe_function(it->second, message.get(), napi_tsfn_nonblocking) == napi_ok) {
        message.release();  // now owned by the TSFN queue; DeliverMessage takes it back
      }
    }
  }
  // What could not be queued is destroyed here, outside the mutex (a declined lead sends
  // again), without allocating anything.
  messages.clear();
}

std::vector<std::unique_ptr<Message>> Message::unaddressed(const std::shared_ptr<FlightTable>& table, size_t count,
                                                           int32_t kind, const std::shared_ptr<const Bytes>& payload) {
  std::vector<std::unique_ptr<Message>> messages;
  messages.reserve(count);
  for (size_t i = 0; i < count; ++i) messages.push_back(std::make_unique<Message>(table, Notice{}, kind, payload));
  return messages;
}

void Bridge::send_outcome(const std::shared_ptr<FlightTable>& table, std::vector<Notice>& notices, int32_t kind,
                          std::shared_ptr<const Bytes> payload) {
  std::vector<std::unique_ptr<Message>> messages = Message::unaddressed(table, notices.size(), kind, payload);
  for (size_t i = 0; i < notices.size(); ++i) messages[i]->address(std::move(notices[i]));
  notices.clear();
  send(std::move(messages));
}

void Bridge::send_to_leaders(const std::shared_ptr<FlightTable>& table, std::vector<Notice>& notices,
                             MessageKind kind) {
  if (!notices.empty()) send_outcome(table, notices, static_cast<int32_t>(kind), nullptr);
}

void DeliverMessage(napi_env env, napi_value handler, void* /*context*/, void* data) {
  std::unique_ptr<Message> message(static_cast<Message*>(data));
  if (env == nullptr || handler == nullptr) return;  // shutting down: the destructor releases

  const std::string_view key = message->key();  // UTF-16 code units, as JavaScript gave them
  napi_value args[5];
  napi_value undefined;
  if (napi_get_undefined(env, &undefined) != napi_ok || napi_create_int32(env, message->kind(), &args[0]) != napi_ok ||
      napi_create_double(env, static_cast<double>(message->table_id()), &args[1]) != napi_ok ||
      napi_create_string_utf16(env, reinterpret_cast<const char16_t*>(key.data()), key.size() / sizeof(char16_t),
                               &args[2]) != napi_ok ||
      napi_create_double(env, static_cast<double>(message->flight_id()), &args[3]) != napi_ok) {
    return;  // the destructor releases the receiver's part
  }
  args[4] = undefined;
  if (const Bytes* payload = message->payload(); payload != nullptr) {
    void* copy = nullptr;
    if (napi_create_buffer_copy(env, payload->size(), payload->data(), &copy, &args[4]) != napi_ok) {
      // Without its payload the outcome cannot be read: the receiver runs its own work instead.
      if (napi_create_int32(env, static_cast<int32_t>(MessageKind::kFallback), &args[0]) != napi_ok) return;
      args[4] = undefined;
    }
  }
  napi_value accepted;
  if (napi_call_function(env, undefined, handler, 5, args, &accepted) != napi_ok) return;
  bool took_lead = false;
  if (message->base_kind() == MessageKind::kLead && napi_get_value_bool(env, accepted, &took_lead) == napi_ok &&
      took_lead) {
    message->accept_lead();
  }
}

}  // namespace threadflight
