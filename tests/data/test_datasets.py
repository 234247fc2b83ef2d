"""The shipped MNIST subset, the synthetic lecture sets and the file formats of cnnviz.data."""
import gzip
import pickle
import subprocess
import sys

import numpy as np
import pytest

from cnnviz.data import DATASET_NAMES, Dataset, load_dataset, synthetic


def idx_bytes(array: np.ndarray) -> bytes:
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(int(n).to_bytes(4, "big") for n in array.shape)
    return header + array.astype(np.uint8).tobytes()


def write_idx_folder(folder, n_train=6, n_test=4, gz=False, seed=0):
    rng = np.random.default_rng(seed)
    arrays = {"train-images-idx3-ubyte": rng.integers(0, 256, (n_train, 5, 4)),
              "train-labels-idx1-ubyte": np.arange(n_train) % 10,
              "t10k-images-idx3-ubyte": rng.integers(0, 256, (n_test, 5, 4)),
              "t10k-labels-idx1-ubyte": np.arange(n_test) % 10}
    folder.mkdir(parents=True, exist_ok=True)
    for name, array in arrays.items():
        data = idx_bytes(array)
        if gz:
            (folder / f"{name}.gz").write_bytes(gzip.compress(data))
        else:
            (folder / name).write_bytes(data)
    return arrays


# ---------------------------------------------------------------- shipped MNIST
def test_shipped_mnist_is_the_default_and_a_stratified_4000_1000_split():
    ds = load_dataset()
    assert ds.name == "mnist"
    assert ds.x_train.shape == (4000, 28, 28, 1) and ds.x_test.shape == (1000, 28, 28, 1)
    assert ds.x_train.dtype == np.float32 and ds.y_train.dtype == np.int64
    assert 0 <= ds.x_train.min() and ds.x_train.max() == 1.0
    assert np.bincount(ds.y_test).tolist() == [100] * 10
    assert np.bincount(ds.y_train).tolist() == [400] * 10
    assert ds.class_names == [str(k) for k in range(10)]
    # Real digits: the mean "1" has far less ink than the mean "0".
    ink = [ds.x_train[ds.y_train == k].mean() for k in range(10)]
    assert ink[1] < 0.6 * ink[0]
    # No image is both in the training and the test part.
    train = {row.tobytes() for row in ds.x_train}
    assert not any(row.tobytes() in train for row in ds.x_test)


def test_subset_takes_the_first_samples_and_checks_counts():
    ds = load_dataset("mnist")
    small = ds.subset(100, 30)
    assert len(small.x_train) == 100 and len(small.y_test) == 30
    np.testing.assert_array_equal(small.x_train, ds.x_train[:100])
    with pytest.raises(ValueError, match="n_train"):
        ds.subset(0)


def test_importing_cnnviz_data_does_not_import_qt():
    code = "import sys, cnnviz.data; cnnviz.data.load_dataset('bars'); print('PyQt5' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


# ---------------------------------------------------------------- synthetic sets
@pytest.mark.parametrize("name", ["bars", "edges", "crosses"])
def test_synthetic_sets_are_deterministic_by_seed(name):
    a = synthetic(name, size=12, n_train=20, n_test=8, seed=3)
    b = synthetic(name, size=12, n_train=20, n_test=8, seed=3)
    c = synthetic(name, size=12, n_train=20, n_test=8, seed=4)
    np.testing.assert_array_equal(a.x_train, b.x_train)
    np.testing.assert_array_equal(a.y_test, b.y_test)
    assert not np.array_equal(a.x_train, c.x_train)
    assert a.x_train.shape == (20, 12, 12, 1) and a.x_train.dtype == np.float32
    assert a.x_train.min() >= 0 and a.x_train.max() <= 1
    assert np.bincount(a.y_train).tolist() == [20 // a.num_classes] * a.num_classes


def test_synthetic_default_is_28x28x1_so_the_presets_fit():
    for name in DATASET_NAMES[1:]:
        assert load_dataset(name).input_shape == (28, 28, 1)
    assert load_dataset("bars", size=8).input_shape == (8, 8, 1)


def test_synthetic_classes_look_like_their_names():
    bars = synthetic("bars", size=16, n_train=40, n_test=1, seed=0)
    for image, label in zip(bars.x_train[..., 0], bars.y_train):
        ink_rows, ink_cols = (image > 0.5).any(axis=1).sum(), (image > 0.5).any(axis=0).sum()
        assert (ink_rows < ink_cols) if label == 0 else (ink_cols < ink_rows)  # 0: horizontal
    edges = synthetic("edges", size=16, n_train=40, n_test=1, seed=0)
    for image, label in zip(edges.x_train[..., 0], edges.y_train):
        # A vertical edge changes across columns and hardly down the rows; a horizontal one the other way.
        change_across_columns = np.abs(np.diff(image, axis=1)).max(axis=1).mean()
        change_down_rows = np.abs(np.diff(image, axis=0)).max(axis=0).mean()
        if label == 0:
            assert change_across_columns > 2 * change_down_rows
        else:
            assert change_down_rows > 2 * change_across_columns
    assert {image[0, 0] > image[-1, -1] for image in edges.x_train[..., 0]} == {True, False}  # both polarities
    crosses = synthetic("crosses", size=16, n_train=40, n_test=1, seed=0)
    for image, label in zip(crosses.x_train[..., 0], crosses.y_train):
        r, c = np.nonzero(image > 0.5)
        straight = np.mean((r == np.median(r)) | (c == np.median(c)))
        assert (straight == 1) if label == 0 else (straight < 0.5)


@pytest.mark.parametrize("kwargs, message", [({"name": "circles"}, "unknown synthetic"), ({"size": 7}, "8 to 28"),
                                             ({"size": 29}, "8 to 28"), ({"n_train": 0}, "n_train")])
def test_synthetic_rejects_bad_settings(kwargs, message):
    with pytest.raises(ValueError, match=message):
        synthetic(**kwargs)


# ---------------------------------------------------------------- IDX
@pytest.mark.parametrize("gz", [False, True])
def test_idx_folder_raw_and_gz(tmp_path, gz):
    arrays = write_idx_folder(tmp_path / "MNIST" / "raw", gz=gz)
    ds = load_dataset(tmp_path / "MNIST" / "raw")
    assert ds.x_train.shape == (6, 5, 4, 1) and ds.x_test.shape == (4, 5, 4, 1)
    np.testing.assert_allclose(ds.x_train[..., 0], arrays["train-images-idx3-ubyte"] / 255, rtol=1e-6)
    np.testing.assert_array_equal(ds.y_test, arrays["t10k-labels-idx1-ubyte"])
    # A path to one of the files means its folder.
    suffix = ".gz" if gz else ""
    assert load_dataset(tmp_path / "MNIST" / "raw" / f"train-images-idx3-ubyte{suffix}").x_train.shape == (6, 5, 4, 1)


def test_fashion_mnist_folder_gets_fashion_class_names(tmp_path):
    write_idx_folder(tmp_path / "FashionMNIST" / "raw", gz=True)
    ds = load_dataset(tmp_path / "FashionMNIST" / "raw")
    assert ds.name == "fashion-mnist" and ds.class_names[0] == "T-shirt/top" and ds.num_classes == 10


def test_idx_truncated_file_names_the_file_and_the_sizes(tmp_path):
    write_idx_folder(tmp_path)
    path = tmp_path / "train-images-idx3-ubyte"
    path.write_bytes(path.read_bytes()[:-7])
    with pytest.raises(ValueError, match=r"train-images-idx3-ubyte: truncated: the header says 6 x 5 x 4 = 120 bytes, "
                                         r"the file holds 113"):
        load_dataset(tmp_path)


def test_idx_mismatched_counts_and_missing_file_and_bad_magic(tmp_path):
    write_idx_folder(tmp_path)
    (tmp_path / "t10k-labels-idx1-ubyte").write_bytes(idx_bytes(np.arange(3)))
    with pytest.raises(ValueError, match="t10k-labels-idx1-ubyte: holds 3 labels but .*t10k-images-idx3-ubyte holds 4"):
        load_dataset(tmp_path)
    (tmp_path / "t10k-labels-idx1-ubyte").unlink()
    with pytest.raises(ValueError, match="t10k-labels-idx1-ubyte: missing"):
        load_dataset(tmp_path)
    (tmp_path / "t10k-labels-idx1-ubyte").write_bytes(idx_bytes(np.zeros((4, 2))))
    with pytest.raises(ValueError, match="t10k-labels-idx1-ubyte: expected an IDX file of unsigned bytes with 1"):
        load_dataset(tmp_path)


# ---------------------------------------------------------------- npz
def test_keras_mnist_npz_layout(tmp_path):
    rng = np.random.default_rng(0)
    x_train, x_test = rng.integers(0, 256, (8, 6, 6), dtype=np.uint8), rng.integers(0, 256, (3, 6, 6), dtype=np.uint8)
    np.savez(tmp_path / "mnist.npz", x_train=x_train, y_train=np.arange(8) % 4, x_test=x_test, y_test=[0, 1, 3])
    ds = load_dataset(tmp_path / "mnist.npz")
    assert ds.x_train.shape == (8, 6, 6, 1) and ds.class_names == ["0", "1", "2", "3"]
    np.testing.assert_allclose(ds.x_test[..., 0], x_test / 255, rtol=1e-6)
    np.testing.assert_array_equal(ds.y_test, [0, 1, 3])


def test_npz_with_x_and_y_is_split_by_class_and_seed(tmp_path):
    x = np.random.default_rng(0).random((50, 4, 4, 3)).astype(np.float32)
    y = np.eye(5)[np.arange(50) % 5]  # one-hot labels are accepted
    np.savez(tmp_path / "d.npz", x=x, y=y, class_names=np.array(list("abcde")))
    ds = load_dataset(tmp_path / "d.npz", test_fraction=0.2, seed=1)
    assert len(ds.x_train) == 40 and len(ds.x_test) == 10
    assert np.bincount(ds.y_test).tolist() == [2] * 5 and ds.class_names == list("abcde")
    assert ds.input_shape == (4, 4, 3)
    again = load_dataset(tmp_path / "d.npz", test_fraction=0.2, seed=1)
    np.testing.assert_array_equal(ds.x_test, again.x_test)
    # Every sample lands in exactly one part, with its own label.
    rows = {x[i].tobytes(): i % 5 for i in range(50)}
    assert sorted(rows[r.tobytes()] for r in np.concatenate([ds.x_train, ds.x_test])) == sorted(np.arange(50) % 5)
    assert all(rows[img.tobytes()] == label for img, label in zip(ds.x_test, ds.y_test))


@pytest.mark.parametrize("arrays, message", [
    ({"images": np.zeros((2, 3, 3))}, "expected arrays x_train, y_train, x_test, y_test .* or x and y"),
    ({"x": np.zeros((4, 3, 3)), "y": np.zeros(3)}, r"4 images but 3 labels"),
    ({"x": np.full((4, 3, 3), 7.0), "y": np.zeros(4)}, r"uint8 pixels 0-255 or floats in \[0, 1\]"),
    ({"x": np.zeros((4, 3)), "y": np.zeros(4)}, r"expected images of shape \(N, H, W\)"),
])
def test_bad_npz_names_the_file_and_what_was_expected(tmp_path, arrays, message):
    np.savez(tmp_path / "bad.npz", **arrays)
    with pytest.raises(ValueError, match=f"bad.npz.*{message}"):
        load_dataset(tmp_path / "bad.npz")


def test_npz_with_pickled_objects_is_refused(tmp_path):
    np.savez(tmp_path / "p.npz", x=np.array([{"a": 1}], dtype=object), y=np.zeros(1))
    with pytest.raises(ValueError, match="p.npz: holds pickled Python objects"):
        load_dataset(tmp_path / "p.npz")


def test_missing_path_and_pickle_files_are_refused(tmp_path):
    with pytest.raises(ValueError, match="nothing.npz: no such file or folder"):
        load_dataset(tmp_path / "nothing.npz")
    (tmp_path / "data.pkl").write_bytes(pickle.dumps([1]))
    with pytest.raises(ValueError, match="never loaded"):
        load_dataset(tmp_path / "data.pkl")


# ---------------------------------------------------------------- CIFAR-10
def cifar_arrays(n, seed):
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (n, 3072), dtype=np.uint8), [int(v) for v in rng.integers(0, 10, n)]


def write_cifar_python(folder, n=3):
    """Batches as Python 3 pickles them (protocol 2, like the originals' cPickle protocol)."""
    folder.mkdir(parents=True, exist_ok=True)
    written = {}
    for seed, name in enumerate(["data_batch_1", "data_batch_2", "data_batch_3", "data_batch_4", "data_batch_5",
                                 "test_batch"]):
        data, labels = cifar_arrays(n, seed)
        batch = {b"batch_label": b"batch " + name.encode(), b"labels": labels, b"data": data,
                 b"filenames": [b"img%d.png" % i for i in range(n)]}
        (folder / name).write_bytes(pickle.dumps(batch, protocol=2))
        written[name] = (data, labels)
    return written


def test_cifar10_python_batches_are_read_without_unpickling(tmp_path, monkeypatch):
    written = write_cifar_python(tmp_path / "cifar-10-batches-py")
    monkeypatch.setattr(pickle, "loads", None)  # would fail loudly if anything unpickled
    monkeypatch.setattr(pickle, "load", None)
    ds = load_dataset(tmp_path / "cifar-10-batches-py")
    assert ds.name == "cifar-10" and ds.x_train.shape == (15, 32, 32, 3) and ds.x_test.shape == (3, 32, 32, 3)
    data, labels = written["data_batch_2"]
    # Row layout: the 1024 red, then green, then blue values of a 32x32 image.
    np.testing.assert_allclose(ds.x_train[3, 0, 1], data[0, [1, 1025, 2049]] / 255, rtol=1e-6)
    np.testing.assert_allclose(ds.x_train[4, 31, 31, 2], data[1, 3071] / 255, rtol=1e-6)
    assert ds.y_train[3:6].tolist() == labels
    assert ds.class_names[0] == "airplane" and ds.num_classes == 10


def test_cifar10_python2_style_pickle(tmp_path):
    """The original files were written by Python 2's cPickle: str is BINSTRING, arrays via numpy.core."""
    from cnnviz.data.cifar import read_batch

    data = np.arange(2 * 3072, dtype=np.uint64).astype(np.uint8).reshape(2, 3072)

    def string(s: bytes) -> bytes:
        return (b"U" + bytes([len(s)]) + s) if len(s) < 256 else (b"T" + len(s).to_bytes(4, "little") + s)

    raw = (b"\x80\x02}q\x01(" + string(b"data") +
           b"cnumpy.core.multiarray\n_reconstruct\nq\x02cnumpy\nndarray\nq\x03K\x00\x85" + string(b"b") +
           b"\x87Rq\x04(K\x01K\x02M\x00\x0c\x86cnumpy\ndtype\nq\x05" + string(b"u1") +
           b"K\x00K\x01\x87Rq\x06(K\x03" + string(b"|") + b"NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00tb\x89" +
           string(data.tobytes()) + b"tb" + string(b"labels") + b"]q\x07(K\x07K\x02e" +
           string(b"batch_label") + string(b"training batch 1 of 5") + b"u.")
    (tmp_path / "data_batch_1").write_bytes(raw)
    images, labels = read_batch(tmp_path / "data_batch_1")
    assert images.shape == (2, 32, 32, 3) and labels.tolist() == [7, 2]
    np.testing.assert_array_equal(images[1, :, :, 0].reshape(-1), data[1, :1024])


def test_cifar10_binary_batches(tmp_path):
    rng = np.random.default_rng(0)
    for name in ["data_batch_1", "data_batch_2", "data_batch_3", "data_batch_4", "data_batch_5", "test_batch"]:
        records = rng.integers(0, 256, (2, 3073), dtype=np.uint8)
        records[:, 0] %= 10
        (tmp_path / f"{name}.bin").write_bytes(records.tobytes())
    ds = load_dataset(tmp_path)
    assert ds.x_train.shape == (10, 32, 32, 3) and ds.x_test.shape == (2, 32, 32, 3)
    np.testing.assert_allclose(ds.x_test[1, 0, 0], records[1, [1, 1025, 2049]] / 255, rtol=1e-6)
    assert ds.y_test.tolist() == records[:, 0].tolist()
    (tmp_path / "test_batch.bin").write_bytes(records.tobytes()[:-5])
    with pytest.raises(ValueError, match="test_batch.bin: expected records of 3073 bytes"):
        load_dataset(tmp_path)


def test_cifar10_missing_batch_and_malicious_pickle(tmp_path):
    write_cifar_python(tmp_path)
    (tmp_path / "data_batch_4").unlink()
    with pytest.raises(ValueError, match="data_batch_4: missing"):
        load_dataset(tmp_path)

    class Evil:
        def __reduce__(self):
            return (print, ("this must never run",))

    (tmp_path / "data_batch_4").write_bytes(pickle.dumps({b"data": Evil()}, protocol=2))
    with pytest.raises(ValueError, match="data_batch_4: refuses to load (__builtin__|builtins).print"):
        load_dataset(tmp_path)
    (tmp_path / "data_batch_4").write_bytes(pickle.dumps({b"data": b"x"}, protocol=2)[:-3])
    with pytest.raises(ValueError, match="data_batch_4"):
        load_dataset(tmp_path)
    (tmp_path / "data_batch_4").write_bytes(pickle.dumps({b"data": np.zeros((2, 5), np.uint8), b"labels": [1, 2]},
                                                         protocol=2))
    with pytest.raises(ValueError, match=r"data_batch_4: expected 'data' as uint8 \(N, 3072\)"):
        load_dataset(tmp_path)


# ---------------------------------------------------------------- image folders
def save_png(path, pixels):
    from PyQt5.QtGui import QImage

    pixels = np.ascontiguousarray(pixels, dtype=np.uint8)
    h, w = pixels.shape[:2]
    if pixels.ndim == 2:
        image = QImage(pixels.data, w, h, w, QImage.Format_Grayscale8)
    else:
        image = QImage(pixels.data, w, h, 3 * w, QImage.Format_RGB888)
    path.parent.mkdir(parents=True, exist_ok=True)
    assert image.save(str(path))


def test_image_folder_grayscale_one_subfolder_per_class(tmp_path):
    rng = np.random.default_rng(0)
    pictures = {}
    for cls in ("cat", "dog"):
        for i in range(5):
            pictures[(cls, i)] = rng.integers(0, 256, (6, 7), dtype=np.uint8)
            save_png(tmp_path / "pets" / cls / f"{i}.png", pictures[(cls, i)])
    ds = load_dataset(tmp_path / "pets", test_fraction=0.4)
    assert ds.class_names == ["cat", "dog"] and ds.input_shape == (6, 7, 1)
    assert len(ds.x_train) == 6 and len(ds.x_test) == 4
    expected = {(p / 255).astype(np.float32).tobytes(): cls for (cls, _), p in pictures.items()}
    for image, label in zip(np.concatenate([ds.x_train, ds.x_test]), np.concatenate([ds.y_train, ds.y_test])):
        assert expected[image[..., 0].tobytes()] == ds.class_names[label]


def test_image_folder_rgb_with_train_and_test_folders(tmp_path):
    rng = np.random.default_rng(1)
    red = rng.integers(0, 256, (4, 4, 3), dtype=np.uint8)
    for part in ("train", "test"):
        for cls in ("a", "b"):
            save_png(tmp_path / part / cls / "x.png", red)
    ds = load_dataset(tmp_path)
    assert ds.input_shape == (4, 4, 3) and len(ds.x_train) == 2 and len(ds.x_test) == 2
    np.testing.assert_allclose(ds.x_test[0], red / 255, rtol=1e-6)


def test_image_folder_errors(tmp_path):
    save_png(tmp_path / "a" / "1.png", np.zeros((4, 4)))
    save_png(tmp_path / "a" / "2.png", np.zeros((5, 4)))
    with pytest.raises(ValueError, match=r"2.png: is 4x5 pixels, expected 4x4"):
        load_dataset(tmp_path)
    (tmp_path / "a" / "2.png").write_bytes(b"not a png")
    with pytest.raises(ValueError, match="2.png: cannot read this file as an image"):
        load_dataset(tmp_path)
    (tmp_path / "empty").mkdir()
    (tmp_path / "a" / "2.png").unlink()
    with pytest.raises(ValueError, match="empty: no images"):
        load_dataset(tmp_path)


def test_dataset_checks_its_arrays():
    x = np.zeros((2, 3, 3, 1), np.float32)
    with pytest.raises(ValueError, match="y_train must be int64"):
        Dataset(x, np.zeros(2), x, np.zeros(2, np.int64), ["a"], "t")
    with pytest.raises(ValueError, match="class ids outside"):
        Dataset(x, np.array([0, 1]), x, np.zeros(2, np.int64), ["a"], "t")


def test_training_on_bars_turns_first_layer_filters_into_oriented_detectors():
    from cnnviz.presets import load_preset

    def oriented_filters(kernels) -> int:
        """How many 3x3 filters are mostly a function of the column alone or of the row alone (>70% of the
        energy of the zero-mean filter), i.e. respond to vertical or horizontal structure."""
        count = 0
        for f in range(kernels.shape[-1]):
            w = kernels[:, :, 0, f] - kernels[:, :, 0, f].mean()
            along_rows, along_columns = w.mean(axis=0), w.mean(axis=1)
            share = 3 * max((along_rows ** 2).sum(), (along_columns ** 2).sum()) / (w ** 2).sum()
            count += share > 0.7
        return count

    data = synthetic("bars", seed=0)
    before = after = 0
    for seed in range(3):
        model = load_preset("lecture", seed=seed)
        before += oriented_filters(model.layers[0].params["kernel"])
        model.compile({"name": "adam", "learning_rate": 0.01}, metrics=["accuracy"])
        model.fit(data.x_train, data.y_train, epochs=5, verbose=0)
        assert model.evaluate(data.x_test, data.y_test)[1] > 0.95
        after += oriented_filters(model.layers[0].params["kernel"])
    assert after >= before + 3
