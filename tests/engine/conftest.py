import pytest

from cnnviz.engine import functional as F


@pytest.fixture(params=["row-major", "column-major"])
def im2col_layout(request, monkeypatch):
    """Run the test once with each im2col memory layout; in real use the input's channel
    count picks one (``F.im2col_order``), so small test models would only ever see one."""
    monkeypatch.setattr(F, "FEW_CHANNELS", 0 if request.param == "row-major" else 10**6)
    return request.param
