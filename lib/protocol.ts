// The numbers lib/ and the binding agree on. The binding exports them once, at load
// (src/binding/protocol.h); binding.ts loads only an addon of the version this JavaScript was
// written for, and this module hands the values out, so no value is ever copied by hand.
import { binding } from './binding';

export const protocol = binding.protocol;
export const { role: Role, settle: Settle, leave: Leave, message: Message, flightSlots: FlightSlot } = protocol;
