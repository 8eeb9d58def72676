"""zeusc.utils.lr_scaler: Zeus's LinearScaler and SquareRootScaler (zeus.utils.lr_scaler)."""

import math

import pytest

from zeusc.utils.lr_scaler import LinearScaler, SquareRootScaler


@pytest.mark.parametrize(("bs", "lr", "new"), [(256, 0.1, 512), (256, 0.1, 64), (32, 3e-4, 48)])
def test_linear_scales_with_batch_size(bs, lr, new):
    assert LinearScaler(bs=bs, lr=lr).compute_lr(new) == pytest.approx(lr * new / bs, rel=1e-15)


@pytest.mark.parametrize(("bs", "lr", "new"), [(256, 0.1, 1024), (256, 0.1, 64), (32, 3e-4, 48)])
def test_square_root_scales_with_its_root(bs, lr, new):
    assert SquareRootScaler(bs=bs, lr=lr).compute_lr(new) == pytest.approx(lr * math.sqrt(new / bs), rel=1e-15)


def test_same_batch_size_keeps_lr_and_fields_are_dataclass():
    assert LinearScaler(128, 0.05).compute_lr(128) == 0.05
    assert SquareRootScaler(128, 0.05).compute_lr(128) == 0.05
    assert SquareRootScaler(bs=4, lr=1.0).compute_lr(16) == 2.0
    assert LinearScaler(bs=4, lr=1.0) == LinearScaler(4, 1.0)
