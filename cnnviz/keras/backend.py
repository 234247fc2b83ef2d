"""The bits of ``keras.backend`` tutorials ask: cnnviz is channels-last and trains in float32."""


def image_data_format() -> str:
    return "channels_last"


def floatx() -> str:
    return "float32"


def clear_session() -> None:
    """Nothing to clear: cnnviz keeps no global graph or name counters."""
