"""The lessons (../shared/seeds/ 000-004) as PyTorch programs in examples/lessons/, run by ``ember run``.

Each test checks what its lesson says. Where PyTorch is installed the same program also runs under real
PyTorch and must print the same, random values included: Ember's generator gives PyTorch's numbers for the
same seed (numbers compared within printed rounding).
"""
import re
from pathlib import Path

import pytest

import ember
from test_compat import assert_same_output, run_all

LESSONS = Path(__file__).resolve().parents[1] / "examples" / "lessons"
SCRIPTS = sorted(LESSONS.glob("*.py"))

# lesson 001 picks 'cuda' when Ember sees a GPU (CuPy); PyTorch here may be a CPU build
DEVICE = "cuda" if ember.cuda.is_available() else "cpu"


def as_cpu(text):
    """Output of a run on 'cuda' as the same run on 'cpu' would print it (for comparing with CPU PyTorch)."""
    text = text.replace("Using cuda device", "Using cpu device")
    return re.sub(r"device='cuda:0', |, device='cuda:0'", "", text)


@pytest.fixture(scope="module")
def runs():
    return run_all(SCRIPTS)


def out(runs, name):
    rc, stdout, stderr = runs[name]["ember"]
    assert rc == 0, f"ember run {name} failed (exit {rc}):\n{stderr}"
    return stdout


def lines(runs, name):
    return out(runs, name).splitlines()


def test_every_lesson_has_programs():
    prefixes = {p.name[:3] for p in SCRIPTS}
    assert prefixes == {"000", "001", "002", "003", "004"}
    assert len(SCRIPTS) >= 14


@pytest.mark.parametrize("name", [p.name for p in SCRIPTS])
def test_lesson_runs_and_matches_pytorch(runs, name):
    ours = out(runs, name)
    theirs = runs[name]["torch"]
    if theirs is None:
        pytest.skip("PyTorch is not installed: ran under Ember only")
    rc, torch_out, torch_err = theirs
    assert rc == 0, f"the program fails under PyTorch itself:\n{torch_err}"
    assert_same_output(as_cpu(ours), as_cpu(torch_out), what=name)


# ---------------------------------------------------------------------------------------------------
# 000: batch, logit, output head
def test_000_head_shapes(runs):
    assert lines(runs, "000_batch_logit_head.py") == [
        "torch.Size([32, 10])", "torch.Size([32, 1])", "torch.Size([32, 64])"]


def test_000_exercise_three_heads_and_losses(runs):
    o = lines(runs, "000_exercise_three_heads.py")
    assert o[:4] == ["logits torch.Size([16, 10])", "regression torch.Size([16, 1])",
                     "embedding torch.Size([16, 32])", "unit norm: True"]
    for loss in ("cross_entropy", "mse", "cosine_embedding"):
        assert f"{loss} loss shape torch.Size([]) finite True" in o
    assert o[-1] == "every parameter has a gradient: True"


# ---------------------------------------------------------------------------------------------------
# 001: build the neural network
NEURAL_NETWORK_REPR = """\
NeuralNetwork(
  (flatten): Flatten(start_dim=1, end_dim=-1)
  (linear_relu_stack): Sequential(
    (0): Linear(in_features=784, out_features=512, bias=True)
    (1): ReLU()
    (2): Linear(in_features=512, out_features=512, bias=True)
    (3): ReLU()
    (4): Linear(in_features=512, out_features=10, bias=True)
    (5): ReLU()
  )
)"""


def test_001_model_repr_as_pytorch(runs):
    o = out(runs, "001_build_the_neural_network.py")
    assert o.startswith(f"Using {DEVICE} device\n" + NEURAL_NETWORK_REPR + "\n")
    assert "Model structure:  " + NEURAL_NETWORK_REPR + " \n\n\n" in o


def test_001_layer_shapes_and_prediction(runs):
    o = out(runs, "001_build_the_neural_network.py")
    assert re.search(r"^Predicted class: tensor\(\[\d\](, device='cuda:0')?\)$", o, re.M)
    for size in ("First Linear weights size: torch.Size([512, 784]) ", "First Linear weights size: torch.Size([512]) ",
                 "torch.Size([3, 28, 28])", "torch.Size([3, 784])", "torch.Size([3, 20])"):
        assert size + "\n" in o, size
    assert o.count("First Linear weights: Parameter containing:\ntensor(") == 2
    assert "requires_grad=True) " in o
    # the printed graph nodes are PyTorch's
    for node in ("AddmmBackward0", "ReluBackward0", "SoftmaxBackward0", "SliceBackward0"):
        assert f"grad_fn=<{node}>" in o, node
    assert re.search(r"After ReLU: tensor\(\[\[[0-9. e+-]+,", o)  # no negative number after ReLU
    after = o.split("After ReLU: ")[1].split("grad_fn")[0]
    assert "-" not in after.replace("e-", "")


def test_001_softmax_rows_sum_to_one(runs):
    o = out(runs, "001_build_the_neural_network.py")
    block = o.split("grad_fn=<AddmmBackward0>)\n")[-1].split("grad_fn=<SoftmaxBackward0>)")[0]
    probs = [float(v) for v in re.findall(r"\d\.\d+(?:e[-+]\d+)?", block)]
    assert len(probs) == 30
    for i in range(3):
        assert sum(probs[10 * i:10 * i + 10]) == pytest.approx(1.0, abs=6e-4)


def test_001_named_parameters(runs):
    found = re.findall(r"^Layer: (\S+) \| Size: (torch\.Size\(\[[\d, ]+\]\)) \| Values : tensor\(",
                       out(runs, "001_build_the_neural_network.py"), re.M)
    assert found == [("linear_relu_stack.0.weight", "torch.Size([512, 784])"),
                     ("linear_relu_stack.0.bias", "torch.Size([512])"),
                     ("linear_relu_stack.2.weight", "torch.Size([512, 512])"),
                     ("linear_relu_stack.2.bias", "torch.Size([512])"),
                     ("linear_relu_stack.4.weight", "torch.Size([10, 512])"),
                     ("linear_relu_stack.4.bias", "torch.Size([10])")]


# ---------------------------------------------------------------------------------------------------
# 002: cross entropy by hand; the loss is a scalar
def test_002_cross_entropy_by_hand(runs):
    o = lines(runs, "002_cross_entropy_by_hand.py")
    assert o[:10] == [
        "torch.Size([10])", "torch.Size([])",
        "tensor([2.4552, 2.2367, 1.8952, 2.7137, 1.7738, 1.0480, 1.7437, 1.1590, 2.3173,",
        "        1.7409])",
        "tensor(19.0834)", "tensor(2.9488)", "tensor(2.1438)", "1 tensor(0.8050)",
        "tensor(2.1438)",  # nn.CrossEntropyLoss agrees with the hand computation
        "tensor([[" + o[9][len("tensor([["):],
    ]


def test_002_batch_loss_is_the_mean_of_64_losses(runs):
    o = lines(runs, "002_cross_entropy_by_hand.py")
    assert "torch.Size([64, 10])" in o and "torch.Size([64])" in o
    i = o.index("same: True")
    assert re.fullmatch(r"tensor\(\d\.\d{4}\)", o[i - 1]) and o[i - 2] == o[i - 1]  # by hand == criterion
    assert o[i + 1] == "loss shape: torch.Size([])"


def test_002_backward_needs_a_scalar(runs):
    o = lines(runs, "002_cross_entropy_by_hand.py")
    assert o[-4:] == ["grad shape: torch.Size([64, 10])", "per-example losses: torch.Size([64])",
                      "RuntimeError: grad can be implicitly created only for scalar outputs",
                      "grad of mean via explicit gradient matches: True"]


# ---------------------------------------------------------------------------------------------------
# 003: dropout, embedding, the Transformer block
def test_003_dropout_train_vs_eval(runs):
    o = lines(runs, "003_dropout_train_vs_eval.py")
    train = re.fullmatch(r"tensor\(\[\[(.*)\]\]\)", o[0]).group(1).split(",")
    assert len(train) == 8 and {v.strip() for v in train} <= {"0.", "2."}
    assert o[1] == "tensor([[1., 1., 1., 1., 1., 1., 1., 1.]])"
    assert o[2:] == ["values: [0.0, 2.0]", "kept fraction ~0.5: True", "mean preserved ~1: True",
                     "eval is identity: True"]


def test_003_embedding_and_padding_idx(runs):
    assert lines(runs, "003_embedding_lookup.py") == [
        "torch.Size([4, 256])", "embed(idx) is weight[idx]: True", "torch.Size([32, 50, 256])",
        "tensor(0., grad_fn=<SumBackward0>)",          # the padding row sums to 0 ...
        "grad of padding row: tensor(0.)",             # ... and gets no gradient
        "grad of row 5: tensor(256.)", "grad of an unused row: tensor(0.)"]


def test_003_transformer_block(runs):
    o = out(runs, "003_transformer_block.py")
    assert o.startswith("torch.Size([2, 16, 512])\ntorch.Size([2, 16, 512])\nTransformerBlock(\n")
    assert "(out_proj): NonDynamicallyQuantizableLinear(in_features=512, out_features=512, bias=True)" in o
    assert "(1): GELU(approximate='none')" in o


def test_003_exercise_parameter_counts(runs):
    o = lines(runs, "003_exercise_transformer_encoder.py")
    assert o[:3] == ["parameters per block: 3,152,384", "parameters in 6 blocks: 18,914,304",
                     "blocks: 6 | total == n_layer * per_block: True"]
    assert "torch.Size([2, 8, 512])" in o and o[-1] == "n_layer=2: 6,305,792"
    assert "attn.in_proj_weight          (1536, 512)" in o


# ---------------------------------------------------------------------------------------------------
# 004: view/reshape/stride, clamp, state_dict, BCE, a hand-written loss, SVM vs logistic regression
def test_004_view_reshape_stride(runs):
    o = lines(runs, "004_view_reshape_stride.py")
    assert o[:3] == ["(4, 1) True", "torch.Size([4, 3]) (1, 4) False", "same storage: True"]
    assert o[3] == ("view on non-contiguous: view size is not compatible with input tensor's size and stride "
                    "(at least one dimension spans across two contiguous subspaces). Use .reshape(...) instead.")
    assert o[4:] == ["tensor([ 0,  4,  8,  1,  5,  9,  2,  6, 10,  3,  7, 11])", "reshape copied: True", "True",
                     "(4, 1) False 1", "torch.Size([3, 2, 1]) (4, 1, 1)", "(4, 2) (4, 4, 2)", "100 True", "-1"]


def test_004_clamp_vs_clamp_(runs):
    assert lines(runs, "004_clamp_vs_clamp_.py") == [
        "tensor([-2.0000, -0.5000,  0.0000,  0.5000,  2.0000])",   # clamp() left x alone
        "tensor([-1.0000, -0.5000,  0.0000,  0.5000,  1.0000])",
        "tensor([-1.0000, -0.5000,  0.0000,  0.5000,  1.0000])",
        "tensor([0.0000, 0.0000, 0.0000, 0.5000, 2.0000])",
        "tensor([-1.0000, -0.5000,  0.0000,  0.5000,  1.0000])",   # clamp_() changed it
        "tensor([2., 0.])"]


def test_004_state_dict_of_trained_linear_regression(runs):
    o = lines(runs, "004_linear_regression_state_dict.py")
    assert "['linear.weight', 'linear.bias']" in o
    coef = re.search(r"^coef torch\.Size\(\[1, 1\]\) (\S+)$", "\n".join(o), re.M)
    bias = re.search(r"^bias torch\.Size\(\[1\]\) (\S+)$", "\n".join(o), re.M)
    assert float(coef.group(1)) == pytest.approx(3.0, abs=0.01)    # the data were y = 3x + 0.5 + noise
    assert float(bias.group(1)) == pytest.approx(0.5, abs=0.01)


def test_004_bce_vs_bce_with_logits(runs):
    o = lines(runs, "004_bce_vs_bce_with_logits.py")
    assert o[0] == o[1] == "0.367155"
    assert o[2] == "tensor([1., 0., 1.], grad_fn=<SigmoidBackward0>)"
    assert o[3].startswith("BCELoss           tensor([100., 100.,")       # log(0) clamped: 100, not 200
    assert re.search(r"tensor\(\[[-0., ]+\]\)$", o[4])                     # no gradient left
    assert o[5].startswith("BCEWithLogitsLoss tensor([2.0000e+02, 2.0000e+02,")
    assert o[7] == "  grad            tensor([ 1., -1.,  0.])"
    assert o[8] == "finite: True | exact 200: True"


def test_004_loss_from_exp_sum_log_mean(runs):
    o = lines(runs, "004_loss_from_exp_sum_log_mean.py")
    values = {line.split()[0]: line.split()[1] for line in o[:5] if line.split()[0] != "equal:"}
    assert len(set(values.values())) == 1 and "equal: True" in o and "grads equal: True" in o
    assert "naive  : tensor(inf)" in o                               # exp overflowed
    stable = float(o[-2].split()[-1])
    assert float(o[-1].split()[-1]) == stable and stable > 100        # the built-in stays finite


def test_004_svm_vs_logistic_regression(runs):
    o = lines(runs, "004_svm_vs_logistic_regression.py")
    svm = re.fullmatch(r"linear SVM\s+loss (\S+) accuracy (\S+) min margin (\S+) weight norm (\S+)", o[0])
    lr = re.fullmatch(r"logistic regression\s+loss (\S+) accuracy (\S+) min margin (\S+) weight norm (\S+)", o[1])
    assert svm.group(2) == lr.group(2) == "1.00"                       # both separate the set
    assert float(svm.group(1)) == 0.0 and float(lr.group(1)) > 0       # hinge loss reaches exactly 0
    assert float(svm.group(3)) >= 1.0                                  # every point outside the margin
    assert float(svm.group(4)) < float(lr.group(4))                    # SVM stops; logistic keeps growing
    assert o[2:] == ["SVM hinge loss is exactly 0 once all margins exceed 1: True",
                     "logistic loss stays positive: True"]


def test_004_random_init_randn_vs_rand(runs):
    o = lines(runs, "004_random_init_randn_vs_rand.py")
    assert len(o) == 9 and all(line.endswith("True") for line in o), o
    assert "False" not in "\n".join(o)
