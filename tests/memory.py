"""Memory measured in tests: bounded, not timed."""
import tracemalloc


def peak_megabytes(function):
    """(result or the ValueError raised, peak MB allocated by Python and NumPy meanwhile)."""
    tracemalloc.start()
    try:
        try:
            result = function()
        except ValueError as error:
            result = error
        return result, tracemalloc.get_traced_memory()[1] / 1e6
    finally:
        tracemalloc.stop()
