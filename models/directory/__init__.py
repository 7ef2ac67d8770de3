"""The organisation directory: organisations, units, staff, import, sign-in, tokens, throttle."""
