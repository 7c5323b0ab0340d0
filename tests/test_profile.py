import pytest

from pynq_ia.profile import PROFILES, active_profile, profile_name


def test_default_is_full():
    assert profile_name({}) == "full"


@pytest.mark.parametrize("ci_value", ["true", "True", "1", "yes"])
def test_ci_implies_ci_profile(ci_value):
    assert profile_name({"CI": ci_value}) == "ci"


def test_ci_false_keeps_full():
    assert profile_name({"CI": "false"}) == "full"


def test_explicit_profile_wins_over_ci():
    assert profile_name({"CI": "true", "PYNQ_IA_PROFILE": "full"}) == "full"
    assert profile_name({"PYNQ_IA_PROFILE": " CI "}) == "ci"


def test_unknown_profile_is_a_clear_error():
    with pytest.raises(ValueError, match="not a profile.*ci.*full"):
        profile_name({"PYNQ_IA_PROFILE": "fast"})


def test_ci_profile_is_smaller_than_full():
    ci, full = PROFILES["ci"], PROFILES["full"]
    assert ci.simulated_jets_per_class < full.simulated_jets_per_class
    assert ci.epochs_dense < full.epochs_dense
    assert ci.epochs_cnn < full.epochs_cnn
    # ci must still train and test on real data, only less of it
    assert ci.mnist_train_limit and ci.mnist_test_limit and ci.simulated_jets_per_class > 0


def test_active_profile_reads_the_environment(monkeypatch):
    monkeypatch.setenv("PYNQ_IA_PROFILE", "ci")
    assert active_profile().name == "ci"
    assert active_profile().as_dict()["name"] == "ci"
