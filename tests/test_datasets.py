"""ember.datasets: bundled digits, the MNIST/Fashion-MNIST IDX readers, the text dataset."""
import gzip
import os
import struct

import numpy as np
import pytest

import ember
from ember import transforms
from ember.datasets import (DIGITS_PATH, Digits, FashionMNIST, MNIST, TextFile, load_digits,
                            read_idx, split_indices)
from ember.utils.data import DataLoader


# ---------------------------------------------------------------------------------------------
# digits
# ---------------------------------------------------------------------------------------------

def test_digits_file_ships_with_the_package():
    assert os.path.isfile(DIGITS_PATH)
    readme = os.path.join(os.path.dirname(DIGITS_PATH), "README.md")
    text = open(readme).read()
    assert "CC BY 4.0" in text and "Alpaydin" in text


def test_load_digits_all():
    X, y = load_digits()
    assert tuple(X.shape) == (1797, 1, 8, 8) and X.dtype == ember.float32
    assert tuple(y.shape) == (1797,) and y.dtype == ember.int64
    x = X.numpy()
    assert x.min() == 0.0 and x.max() == 1.0
    np.testing.assert_array_equal(np.unique(x * 16), np.arange(17))  # pixel counts 0..16
    assert np.bincount(y.numpy()).tolist() == [178, 182, 177, 183, 181, 182, 181, 179, 174, 180]
    assert y[:10].tolist() == list(range(10))


def test_load_digits_matches_scikit_learn():
    sk = pytest.importorskip("sklearn.datasets")
    d = sk.load_digits()
    X, y = load_digits()
    np.testing.assert_array_equal(X.numpy().reshape(-1, 64), (d.data / 16).astype(np.float32))
    np.testing.assert_array_equal(y.numpy(), d.target)


def test_split_indices():
    s = split_indices(1797)
    assert [len(s[k]) for k in ("train", "val", "test")] == [1258, 180, 359]
    allidx = np.concatenate([s["train"], s["val"], s["test"]])
    assert sorted(allidx.tolist()) == list(range(1797))
    s2 = split_indices(1797)
    for k in s:
        np.testing.assert_array_equal(s[k], s2[k])
    assert not np.array_equal(split_indices(1797, seed=1)["test"], s["test"])
    ember.manual_seed(0)
    state = ember.get_rng_state()
    split_indices(1797, seed=3)
    assert ember.equal(ember.get_rng_state(), state)  # never touches the global RNG
    with pytest.raises(ValueError, match="leave no training samples"):
        split_indices(10, 0.5, 0.5)
    with pytest.raises(ValueError, match="val_fraction should be in"):
        split_indices(10, 1.5, 0.1)


def test_load_digits_splits():
    X, y = load_digits()
    idx = split_indices(1797)
    for split in ("train", "val", "test"):
        Xs, ys = load_digits(split)
        assert len(ys) == len(idx[split])
        np.testing.assert_array_equal(Xs.numpy(), X.numpy()[idx[split]])
        np.testing.assert_array_equal(ys.numpy(), y.numpy()[idx[split]])
    assert len(load_digits("train", val_fraction=0.0, test_fraction=0.5)[1]) == 899  # round(898.5) == 898 test
    with pytest.raises(ValueError, match="split should be one of"):
        load_digits("dev")


def test_digits_dataset():
    train = Digits()
    test = Digits(train=False)
    val = Digits(split="val")
    assert (len(train), len(val), len(test)) == (1258, 180, 359)
    img, label = train[0]
    assert isinstance(img, ember.Tensor) and tuple(img.shape) == (1, 8, 8)
    assert img.dtype == ember.float32 and isinstance(label, int)
    Xs, ys = load_digits("train")
    np.testing.assert_array_equal(img.numpy(), Xs[0].numpy())
    assert label == ys[0].item()
    assert tuple(train.data.shape) == (1258, 1, 8, 8) and train.targets.dtype == ember.int64
    assert train.classes[3] == "3" and train.class_to_idx["7"] == 7

    seen = []
    with_t = Digits(transform=lambda a: seen.append((type(a), a.shape, a.dtype)) or a,
                    target_transform=lambda t: t + 100)
    a, t = with_t[0]
    assert seen == [(np.ndarray, (8, 8), np.float32)] and t == label + 100
    tt = Digits(transform=transforms.ToTensor())
    np.testing.assert_array_equal(tt[5][0].numpy(), train[5][0].numpy())  # ToTensor == no transform

    xb, yb = next(iter(DataLoader(train, batch_size=32)))
    assert tuple(xb.shape) == (32, 1, 8, 8) and yb.dtype == ember.int64
    r = repr(Digits(transform=transforms.ToTensor()))
    assert r == ("Dataset Digits\n    Number of datapoints: 1258\n    Split: Train\n"
                 "    StandardTransform\nTransform: ToTensor()")


# ---------------------------------------------------------------------------------------------
# IDX / MNIST
# ---------------------------------------------------------------------------------------------

def write_idx(path, array, code=0x08, gz=False):
    array = np.asarray(array)
    header = bytes([0, 0, code, array.ndim]) + b"".join(struct.pack(">I", d) for d in array.shape)
    be = array.astype(array.dtype.newbyteorder(">")) if array.dtype.itemsize > 1 else array
    data = header + be.tobytes()
    if gz:
        path = str(path) + ".gz"
        with gzip.open(path, "wb") as f:
            f.write(data)
    else:
        with open(path, "wb") as f:
            f.write(data)
    return path


def make_mnist(folder, n_train=6, n_test=4, gz=False, seed=0):
    rng = np.random.default_rng(seed)
    os.makedirs(folder, exist_ok=True)
    out = {}
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        images = rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
        labels = rng.integers(0, 10, size=n, dtype=np.uint8)
        write_idx(os.path.join(folder, f"{prefix}-images-idx3-ubyte"), images, gz=gz)
        write_idx(os.path.join(folder, f"{prefix}-labels-idx1-ubyte"), labels, gz=gz)
        out[prefix] = (images, labels)
    return out


@pytest.mark.parametrize("gz", [False, True])
def test_mnist_reads_idx_files(tmp_path, gz):
    ref = make_mnist(str(tmp_path), gz=gz)
    ds = MNIST(str(tmp_path), train=True)
    assert len(ds) == 6
    img, label = ds[2]
    assert isinstance(img, np.ndarray) and img.dtype == np.uint8 and img.shape == (28, 28)
    np.testing.assert_array_equal(img, ref["train"][0][2])
    assert label == int(ref["train"][1][2]) and isinstance(label, int)
    assert ds.data.dtype == ember.uint8 and tuple(ds.data.shape) == (6, 28, 28)
    assert ds.targets.dtype == ember.int64
    test = MNIST(str(tmp_path), train=False, transform=transforms.ToTensor())
    x, y = test[3]
    assert tuple(x.shape) == (1, 28, 28) and x.dtype == ember.float32
    np.testing.assert_allclose(x.numpy()[0], ref["t10k"][0][3] / np.float32(255), rtol=1e-7)
    xb, yb = next(iter(DataLoader(test, batch_size=4)))
    assert tuple(xb.shape) == (4, 1, 28, 28) and yb.tolist() == ref["t10k"][1].tolist()
    assert repr(test).startswith("Dataset MNIST\n    Number of datapoints: 4\n")
    assert "Split: Test" in repr(test)


def test_fashion_mnist_torchvision_layout(tmp_path):
    ref = make_mnist(str(tmp_path / "FashionMNIST" / "raw"), gz=True, seed=1)
    ds = FashionMNIST(str(tmp_path), train=True, download=True)  # files present: just read them
    np.testing.assert_array_equal(ds.data.numpy(), ref["train"][0])
    assert ds.classes[9] == "Ankle boot" and len(ds.classes) == 10
    with pytest.raises(RuntimeError, match="Dataset not found"):
        MNIST(str(tmp_path))  # MNIST looks in MNIST/raw, not FashionMNIST/raw


def test_mnist_missing_files_error(tmp_path):
    with pytest.raises(RuntimeError) as info:
        MNIST(str(tmp_path), train=True)
    msg = str(info.value)
    assert "Dataset not found" in msg
    assert "train-images-idx3-ubyte" in msg and "train-labels-idx1-ubyte" in msg
    assert str(tmp_path) in msg
    with pytest.raises(RuntimeError) as info:
        FashionMNIST(str(tmp_path), train=False, download=True)
    msg = str(info.value)
    assert "t10k-images-idx3-ubyte" in msg and "no network download" in msg
    assert os.path.join(str(tmp_path), "FashionMNIST", "raw") in msg


def test_read_idx_dtypes_and_corruption(tmp_path):
    a = np.arange(-6, 6, dtype=np.int16).reshape(3, 4)
    np.testing.assert_array_equal(read_idx(write_idx(tmp_path / "a", a, code=0x0B)), a)
    f = np.linspace(-1, 1, 10, dtype=np.float32)
    out = read_idx(write_idx(tmp_path / "f", f, code=0x0D, gz=True))
    assert out.dtype == np.float32 and out.dtype.isnative
    np.testing.assert_array_equal(out, f)
    i = np.array([[1, -2], [3, 2 ** 30]], dtype=np.int32)
    np.testing.assert_array_equal(read_idx(write_idx(tmp_path / "i", i, code=0x0C)), i)

    p = write_idx(tmp_path / "t", np.zeros((2, 3, 3), np.uint8))
    raw = open(p, "rb").read()
    open(p, "wb").write(raw[:-1])
    with pytest.raises(RuntimeError, match="truncated or corrupt"):
        read_idx(p)
    open(p, "wb").write(b"\x01\x02" + raw[2:])
    with pytest.raises(RuntimeError, match="not an IDX file"):
        read_idx(p)
    open(p, "wb").write(raw[:2] + b"\x07" + raw[3:])
    with pytest.raises(RuntimeError, match="unknown IDX type code 0x07"):
        read_idx(p)
    open(p, "wb").write(raw[:6])
    with pytest.raises(RuntimeError, match="truncated IDX header"):
        read_idx(p)
    open(p, "wb").write(gzip.compress(raw)[:-8])
    with pytest.raises(RuntimeError, match="corrupt gzip"):
        read_idx(p)


def test_read_idx_fuzz(tmp_path):
    """Truncated, bit-flipped or random bytes: read_idx returns an array or raises RuntimeError."""
    pytest.importorskip("hypothesis")
    from hypothesis import given, settings, strategies as st

    good = bytes([0, 0, 0x08, 2]) + struct.pack(">II", 3, 4) + bytes(range(12))
    p = str(tmp_path / "fuzz")

    @settings(max_examples=150, deadline=None)
    @given(st.one_of(
        st.binary(max_size=64),
        st.integers(0, len(good)).map(lambda n: good[:n]),
        st.tuples(st.integers(0, len(good) - 1), st.integers(0, 7)).map(
            lambda t: good[:t[0]] + bytes([good[t[0]] ^ (1 << t[1])]) + good[t[0] + 1:]),
        st.binary(max_size=64).map(gzip.compress),
    ))
    def check(data):
        with open(p, "wb") as f:
            f.write(data)
        try:
            out = read_idx(p)
        except RuntimeError:
            return
        assert isinstance(out, np.ndarray)

    check()


def test_mnist_mismatched_files(tmp_path):
    write_idx(tmp_path / "train-images-idx3-ubyte", np.zeros((3, 28, 28), np.uint8))
    write_idx(tmp_path / "train-labels-idx1-ubyte", np.zeros(4, np.uint8))
    with pytest.raises(RuntimeError, match="do not match"):
        MNIST(str(tmp_path))


# ---------------------------------------------------------------------------------------------
# text
# ---------------------------------------------------------------------------------------------

def test_text_file(tmp_path):
    text = "hello world, héllo ünïcode!\n" * 3
    p = tmp_path / "input.txt"
    p.write_text(text, encoding="utf-8")
    ds = TextFile(str(p), block_size=8)
    assert ds.chars == sorted(set(text)) and ds.vocab_size == len(set(text))
    assert len(ds) == len(text) - 8
    x, y = ds[3]
    assert x.dtype == ember.int64 and y.dtype == ember.int64
    assert tuple(x.shape) == (8,) and tuple(y.shape) == (8,)
    assert ds.decode(x) == text[3:11] and ds.decode(y) == text[4:12]
    np.testing.assert_array_equal(x.numpy()[1:], y.numpy()[:-1])
    assert ds.encode("hé") == [ds.stoi["h"], ds.stoi["é"]]
    assert ds.decode(ds.encode(text)) == text
    assert ds.decode([ds.stoi["o"]]) == "o"
    last = ds[-1]
    assert ds.decode(last[1]) == text[-8:]
    with pytest.raises(IndexError):
        ds[len(ds)]
    with pytest.raises(ValueError, match="not in the vocabulary"):
        ds.encode("z")
    xb, yb = next(iter(DataLoader(ds, batch_size=4, shuffle=True)))
    assert tuple(xb.shape) == (4, 8) and xb.dtype == ember.int64


def test_text_file_splits_and_errors(tmp_path):
    text = "".join(chr(ord("a") + i % 26) for i in range(200))
    p = tmp_path / "t.txt"
    p.write_text(text)
    train = TextFile(str(p), 10, split="train")
    val = TextFile(str(p), 10, split="val")
    assert len(train) == 180 - 10 and len(val) == 20 - 10
    assert train.chars == val.chars
    assert val.decode(val[0][0]) == text[180:190]
    with pytest.raises(ValueError, match="too short for block_size=50"):
        TextFile(str(p), 50, split="val")
    with pytest.raises(ValueError, match="block_size should be a positive integer"):
        TextFile(str(p), 0)
    with pytest.raises(FileNotFoundError):
        TextFile(str(tmp_path / "missing.txt"), 4)
