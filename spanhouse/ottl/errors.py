"""The two ways an OTTL condition fails: refused when it is compiled, or failing on one span."""


class OTTLUnsupported(Exception):
    """A condition uses something outside the supported subset (or is not valid OTTL)."""


class OTTLRuntimeError(Exception):
    """An OTTL expression failed on a given span (e.g. arithmetic on a string)."""
