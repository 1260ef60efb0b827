"""``hdrbench train`` on the command line: trains, reports a finished run, resumes, rejects bad input."""

from __future__ import annotations

import pytest
import test_train_fakes  # noqa: F401  (registers the fakes)

from hdrbench.cli import main


def test_train_command_trains_then_skips(tmp_path, capsys):
    args = ["train", "--method", "fake-net", "--dataset", "fake-data", "--iterations", "4", "--out", str(tmp_path)]
    main(args)
    assert "fake-net: 4 iterations" in capsys.readouterr().out
    assert (tmp_path / "final.safetensors").is_file() and (tmp_path / "train_log.csv").is_file()
    main(args)
    assert "already trained" in capsys.readouterr().out
    main(args[:-3] + ["6", "--out", str(tmp_path), "--fresh"])
    assert "fake-net: 6 iterations" in capsys.readouterr().out


def test_train_command_errors_are_one_line(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["train", "--method", "fake-nett", "--dataset", "fake-data", "--out", str(tmp_path)])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "unknown method 'fake-nett'; did you mean 'fake-net'?" in err and err.count("\n") == 1
