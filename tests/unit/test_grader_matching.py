"""Field and file matching: exact after normalising notation, never by substring, never for several candidates."""

from __future__ import annotations

import pytest

from mlopsdebug_grader.matching import match_field, match_file, normalise_field, normalise_file

CANONICAL = "optimizer.learning_rate"
ALIASES = ("optimizer.lr", "learning_rate", "lr")


class TestFieldNormalisation:
    @pytest.mark.parametrize(
        "answer",
        [
            "optimizer.learning_rate",
            "OPTIMIZER.LEARNING_RATE",
            "Optimizer.Learning_Rate",
            '"optimizer.learning_rate"',
            "'optimizer.lr'",
            "`optimizer.lr`",
            'optimizer["learning_rate"]',
            "optimizer['lr']",
            "optimizer[lr]",
            "  optimizer.lr  ",
            "optimizer.lr()",
            "lr()",
            "learning rate",
            "learning-rate",
            "config.yaml:optimizer.lr",
            "config.yaml::optimizer.lr",
            "optimizer . lr",
        ],
    )
    def test_notation_variants_match(self, answer):
        """Case, quotes, brackets, a trailing (), spaces and a leading artifact name are notation, not meaning."""
        assert match_field(answer, CANONICAL, ALIASES).credit == 1.0

    @pytest.mark.parametrize(
        "answer",
        [
            "optimizer.learning_rate_scheduler",
            "learning_rate_warmup",
            "optimizer",
            "rate",
            "optimizer.learning_rate.value",
            "the learning rate in the optimizer section",
            "l r",
            "lr(1e-3)",
        ],
    )
    def test_substrings_and_superstrings_do_not_match(self, answer):
        """Containing the name, or being contained in it, is not matching it."""
        assert match_field(answer, CANONICAL, ALIASES).credit == 0.0

    @pytest.mark.parametrize(
        "answer",
        ["lr, momentum", "optimizer.lr or optimizer.momentum", "lr; batch_size", "lr / learning_rate",
         "lr | momentum", "lr and momentum", "lr\nmomentum"],
    )
    def test_several_candidates_earn_nothing(self, answer):
        """Naming two or more candidates earns nothing, even when one of them is right."""
        result = match_field(answer, CANONICAL, ALIASES)
        assert result.credit == 0.0
        assert result.outcome == "several"

    def test_empty_field_earns_nothing(self):
        """An empty answer is reported as empty."""
        assert match_field("   ", CANONICAL, ALIASES).outcome == "empty"

    def test_brackets_and_dots_agree(self):
        """Nested brackets normalise to the dotted path."""
        assert normalise_field('cfg["data"]["splits"][0]') == "cfg.data.splits.0"

    def test_trailing_call_is_removed_but_arguments_are_kept(self):
        """Only an empty trailing () is notation; arguments change the meaning."""
        assert normalise_field("scaler.fit()") == "scaler.fit"
        assert normalise_field("scaler.fit(X)") != "scaler.fit"

    def test_aliases_come_from_the_key(self):
        """A name is accepted only if the key lists it."""
        assert match_field("lr", CANONICAL, ()).credit == 0.0
        assert match_field("lr", CANONICAL, ("lr",)).credit == 1.0


class TestFileNormalisation:
    @pytest.mark.parametrize(
        "answer",
        ["config.yaml", "./config.yaml", "././config.yaml", "Config.YAML", "'config.yaml'", "`config.yaml`",
         "/runs/42/artifacts/config.yaml", "artifacts/config.yaml", "artifacts\\config.yaml", "config.yaml:12",
         "  config.yaml "],
    )
    def test_path_variants_match(self, answer):
        """Case, quotes, ./, a path prefix, backslashes and a line reference are notation."""
        assert match_file(answer, "config.yaml").credit == 1.0

    @pytest.mark.parametrize(
        "answer", ["config.yml", "config", "config.yaml.bak", "myconfig.yaml", "the config.yaml file"]
    )
    def test_other_names_do_not_match(self, answer):
        """A different or decorated file name is another file."""
        assert match_file(answer, "config.yaml").credit == 0.0

    @pytest.mark.parametrize(
        "answer", ["config.yaml, preprocessing.py", "config.yaml/preprocessing.py", "config.yaml preprocessing.py",
                   "preprocessing.py or config.yaml"]
    )
    def test_several_files_earn_nothing(self, answer):
        """Naming two artifacts earns nothing, even as a path."""
        result = match_file(answer, "preprocessing.py")
        assert result.credit == 0.0
        assert result.outcome == "several"

    def test_plain_prefix_is_dropped(self):
        """The base name is what counts."""
        assert normalise_file("./a/b/preprocessing.py") == "preprocessing.py"
