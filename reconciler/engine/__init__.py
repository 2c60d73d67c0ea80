"""The pure core: plan(desired, live, state, now) -> Plan. No I/O, no clock, no randomness."""
