// The numbers lib/ and the binding agree on. The binding exports them once, at load
// (src/binding/protocol.h); this module checks the version it was written for and hands them
// out, so no value is ever copied by hand.
import { binding, type Protocol } from './binding';

/** Raised with kProtocolVersion in src/binding/protocol.h. */
const EXPECTED_VERSION = 4;

function checked(protocol: Protocol | undefined): Protocol {
  if (protocol?.version !== EXPECTED_VERSION) {
    throw new Error(
      `threadflight: the compiled addon speaks protocol ${String(protocol?.version)}, this JavaScript ` +
        `expects ${EXPECTED_VERSION}: the build is stale. Rebuild it with \`npm rebuild threadflight\`.`,
    );
  }
  return protocol;
}

export const protocol = checked(binding.protocol);
export const { role: Role, settle: Settle, leave: Leave, message: Message, joinResult: JoinSlot } = protocol;
