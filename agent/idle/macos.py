"""macOS: CGEventSourceSecondsSinceLastEventType from CoreGraphics, through ctypes."""

from __future__ import annotations

import ctypes
import ctypes.util

_KCG_EVENT_SOURCE_STATE_HID_SYSTEM = 1
_KCG_ANY_INPUT_EVENT_TYPE = 0xFFFFFFFF


def seconds_since_input() -> float | None:
    path = ctypes.util.find_library("ApplicationServices")
    if not path:
        return None
    lib = ctypes.cdll.LoadLibrary(path)
    fn = lib.CGEventSourceSecondsSinceLastEventType
    fn.restype = ctypes.c_double
    fn.argtypes = [ctypes.c_int32, ctypes.c_uint32]
    return float(fn(_KCG_EVENT_SOURCE_STATE_HID_SYSTEM, _KCG_ANY_INPUT_EVENT_TYPE))
