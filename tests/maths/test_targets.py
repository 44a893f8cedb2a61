"""Targets encode labels as scikit-learn's LabelBinarizer does and decode outputs as
its inverse does, in plain numpy (what a worker runs)."""

import numpy as np
import pytest

from dasknn.maths.targets import Targets


@pytest.mark.parametrize("labels", [
    np.array([3, 1, 2, 3, 1]), np.array([1.0, 2.0, 4.0, 1.0]), np.array(["no", "yes", "no"]),
    np.array(["b", "a", "c", "a"], dtype=object), np.array([True, False, True]),
], ids=["ints", "floats", "binary-text", "object-text", "bools"])
def test_targets_encode_as_label_binarizer(labels):
    from sklearn.preprocessing import LabelBinarizer

    lb = LabelBinarizer().fit(labels)
    block = labels[::-1]
    expected = lb.transform(block).astype(np.float32)
    targets = Targets(lb.y_type_, lb.classes_, expected.shape[1])
    got = targets.encode(block, np.float32)
    assert got.dtype == np.float32
    np.testing.assert_array_equal(got, expected)
    # and decode its outputs as the binarizer's inverse does
    np.testing.assert_array_equal(targets.decode(expected, "predict"),
                                  lb.inverse_transform(expected if expected.shape[1] > 1
                                                       else expected.ravel()))


def test_targets_refuse_unknown_labels_and_encode_multilabel():
    from sklearn.preprocessing import LabelBinarizer

    lb = LabelBinarizer().fit([1, 2, 3])
    with pytest.raises(ValueError, match=r"labels \[7\] that are not among the classes \[1, 2, 3\]"):
        Targets(lb.y_type_, lb.classes_, 3).encode(np.array([1, 7]), np.float64)
    indicator = np.array([[0, 1], [1, 1]])
    multi = LabelBinarizer().fit(indicator)
    np.testing.assert_array_equal(
        Targets(multi.y_type_, multi.classes_, 2).encode(indicator, np.float64),
        multi.transform(indicator))


def test_regression_targets_keep_or_take_a_dtype_and_refuse_negatives_for_poisson():
    y = np.array([1.0, 2.0, 3.0], dtype=np.float64)
    t = Targets("continuous", None, 1)
    assert t.encode(y).dtype == np.float64 and t.encode(y).shape == (3, 1)
    assert t.encode(y, np.float32).dtype == np.float32
    np.testing.assert_array_equal(t.decode(np.ones((3, 1)), "predict"), np.ones(3))
    with pytest.raises(ValueError, match="non-negative targets"):
        Targets("continuous", None, 1, nonnegative=True).encode(-y)


def test_binary_probabilities_have_two_columns():
    t = Targets("binary", np.array(["no", "yes"]), 1)
    out = np.array([[0.25], [0.75]])
    np.testing.assert_array_equal(t.decode(out, "predict_proba"), [[0.75, 0.25], [0.25, 0.75]])
    np.testing.assert_allclose(t.decode(out, "predict_log_proba"),
                               np.log([[0.75, 0.25], [0.25, 0.75]]))
    assert t.decode(out, "predict").tolist() == ["no", "yes"]
    assert t.output_meta("predict_proba", np.dtype(np.float32)) == (2, np.float32)
