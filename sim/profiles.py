"""Wire profiles: what a message costs when a given framework encodes and carries it.

ppsim counts its own encoding (`sim.wire.size_of`: raw keys, raw arrays) plus the
scenario's per-message ``header_bytes``. A deployment with a real framework sends
more: its own key formats, share encodings, ciphertext expansion, array
containers, message framing, and sometimes extra messages (a configuration round
before a client may speak). A `Profile` predicts those bytes and rounds without
touching the protocol's logic:

* The protocol tags what it sends with a *message kind* (``party.send(dst,
  payload, kind="secagg.public_keys")``); the kind names a message of the
  protocol, never a framework. Under a framework's profile, a message it does
  not size (untagged, or of another kind) is an error, not a guess.
* A profile maps kinds to small functions ``payload -> bytes``: the whole cost of
  one such message in that framework (its fields in the framework's encoding and
  its framing), in place of ``size_of(payload)``. The scenario's ``header_bytes``
  is still added per message: the transport below the framework (TCP/IP, TLS).
* ``instructions`` lists the kinds the framework only sends in reply to an
  instruction from the receiver (a pull-based framework such as Flower asks each
  client before a client may send). When a party receives such a kind
  (``recv_many(..., kind=...)``) it first sends each sender that instruction, and
  the sender waits for it before sending: one more message, counted in the
  phase like any other, and one more round unless it follows another message
  the receiver had just sent (the rounds are measured, as always).

The default profile ``ppsim`` sizes nothing and instructs nothing, so runs under it
are byte-identical to runs without profiles. Framework profiles live with the
protocols whose message kinds they size (e.g. ``protocols.federated.flower``); the
application finds them by name, like protocols (entry points ``ppsim.profiles``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sim.wire import size_of

Sizer = Callable[[Any], float]
"""A message's bytes from its payload (an expectation may be fractional; rounded)."""


class ProfileError(ValueError):
    """A profile cannot size what a run sends (an untagged or unknown message kind)."""


@dataclass(frozen=True)
class Instruction:
    """The framework's request that precedes a message of kind `kind` (its payload)."""

    kind: str
    size: int

    def __wire_size__(self) -> int:
        return self.size


@dataclass(frozen=True)
class Profile:
    """How one framework encodes and frames a protocol's messages.

    Attributes:
        name: the profile's name (a scenario's ``[network] profile``; the report shows it).
        sizes: per message kind, the bytes one message of that kind costs.
        instructions: per kind the framework sends only when asked, the bytes of
            the receiver's instruction that asks for it.
        protocols: the protocols whose message kinds this profile sizes (empty for
            the default profile, which sizes every protocol its own way).
        refuse: ``refuse(protocol, params)``: why a run of one of `protocols` with
            these parameters is beyond the profile (a variant the framework does not
            have), or None.
        setting: what a user must set in the framework for it to send the
            messages this profile predicts (shown by the report), or None.
    """

    name: str
    sizes: Mapping[str, Sizer] = field(default_factory=dict)
    instructions: Mapping[str, Callable[[], int]] = field(default_factory=dict)
    protocols: frozenset[str] = frozenset()
    refuse: Callable[[str, Any], str | None] | None = None
    setting: str | None = None

    @property
    def is_default(self) -> bool:
        """Whether this profile sizes and instructs nothing (ppsim's own encoding)."""
        return not self.sizes and not self.instructions

    def refusal(self, protocol: str, params: Any) -> str | None:
        """Why this profile cannot size a run of `protocol` with `params`, or None."""
        if self.is_default:
            return None
        if protocol not in self.protocols:
            return (f"it sizes the messages of {', '.join(sorted(self.protocols))}, "
                    f"not of protocol {protocol!r}")
        return None if self.refuse is None else self.refuse(protocol, params)

    def size(self, kind: str | None, payload: Any) -> int:
        """The bytes of one message of `kind` carrying `payload` (without the header)."""
        if isinstance(payload, Instruction):
            return payload.size
        if self.is_default:
            return size_of(payload)
        sizer = self.sizes.get(kind) if kind is not None else None
        if sizer is None:
            raise ProfileError(
                f"wire profile {self.name!r} cannot size a message of kind {kind!r}; "
                f"it sizes the messages of: {', '.join(sorted(self.protocols))}"
            )
        return int(round(sizer(payload)))

    def instruction(self, kind: str | None) -> Instruction | None:
        """The instruction a receiver of `kind` sends first, or None."""
        make = self.instructions.get(kind) if kind is not None else None
        return None if make is None else Instruction(kind, int(round(make())))


PPSIM = Profile("ppsim")
"""ppsim's own encoding: `sim.wire.size_of` of every payload, no extra messages."""
