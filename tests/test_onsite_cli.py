"""The onsite command line as field staff meet it: bad flags and bugs end with our exit codes
and a message, never a Python traceback."""

import subprocess

from onsite.core import errors


def onsite(py36, env, *args):
    return subprocess.run([py36, "-m", "onsite"] + list(args), env=env, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, universal_newlines=True, timeout=60)


def test_a_damaged_state_file_is_an_internal_error_with_log_and_collect_not_a_traceback(py36, onsite_env, tmp_path):
    state = tmp_path / "var/lib/ha-installer/state.json"
    state.parent.mkdir(parents=True)
    state.write_text('{"version": 1, "steps": {')          # cut short mid-write by hand
    env = dict(onsite_env, HA_INSTALLER_RUN="/root/ha-installer-el7.run")
    out = onsite(py36, env, "status", "--root", str(tmp_path))
    assert out.returncode == errors.INTERNAL_ERROR, out.stderr
    assert "Traceback" not in out.stderr + out.stdout
    log = tmp_path / "var/log/ha-installer/internal-error.log"
    assert "error: unexpected internal error (a bug in ha-bundle): " in out.stderr
    assert "[internal-error]" in out.stderr
    assert str(log) in out.stderr
    assert "sh /root/ha-installer-el7.run -- collect" in out.stderr
    assert "Traceback" in log.read_text() and "JSONDecodeError" in log.read_text()
    zh = onsite(py36, env, "--lang", "zh_CN", "status", "--root", str(tmp_path))
    assert zh.returncode == errors.INTERNAL_ERROR
    assert "意外的内部错误" in zh.stderr and "Traceback" not in zh.stderr


def test_a_bad_flag_exits_bad_input_not_argparse_2(py36, onsite_env):
    out = onsite(py36, onsite_env, "verify", "--timeout", "soon")
    assert out.returncode == errors.BAD_INPUT
    assert "invalid int value" in out.stderr
    out = onsite(py36, onsite_env, "no-such-command")
    assert out.returncode == errors.BAD_INPUT
    assert onsite(py36, onsite_env).returncode == errors.BAD_INPUT      # no command: help


def test_not_root_is_one_code_for_every_command(onsite_env):
    """Commands that change or read root-only state refuse the same way (setpriv drops root)."""
    import os
    import shutil

    import pytest
    setpriv = shutil.which("setpriv")
    python = "/usr/bin/python3"        # the pyenv interpreters live under /root: not for nobody
    if setpriv is None or not os.path.exists(python):
        pytest.skip("no setpriv or system python3 to run as another user")
    for command in ("install", "configure", "verify", "drill", "uninstall", "collect"):
        out = subprocess.run([setpriv, "--reuid=65534", "--regid=65534", "--clear-groups", python, "-m",
                              "onsite", command], env=dict(onsite_env, HOME="/tmp"), stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, universal_newlines=True, timeout=60, cwd="/tmp")
        assert out.returncode == errors.NOT_ROOT, (command, out.stderr)
        assert "this command must run as root" in out.stderr, (command, out.stderr)


def test_argparse_usage_and_errors_in_chinese(py36, onsite_env):
    for env_extra, args in (({}, ["--lang", "zh_CN", "verify", "--timeout", "soon"]),
                            ({"LANG": "zh_CN.UTF-8"}, ["verify", "--timeout", "soon"])):
        out = onsite(py36, dict(onsite_env, **env_extra), *args)
        assert out.returncode == errors.BAD_INPUT
        assert "用法: ha-installer verify" in out.stderr
        assert "错误: 参数 --timeout: 无效的 int 值: 'soon'" in out.stderr, out.stderr
    missing = onsite(py36, onsite_env, "--lang", "zh_CN", "site")
    assert "缺少以下必需参数: action" in missing.stderr, missing.stderr
    english = onsite(py36, onsite_env, "verify", "--timeout", "soon")
    assert "usage: ha-installer verify" in english.stderr and "error: argument --timeout" in english.stderr


def test_tables_align_by_display_width_with_chinese_text():
    from onsite.core import columns
    lines = columns.table([["节点", "角色"], ["ha1", "主用"], ["ha2-long-name", "standby"]])
    # the second column starts at the same terminal column on every line
    starts = {columns.display_width(line[:line.index(cell)])
              for line, cell in zip(lines, ["角色", "主用", "standby"])}
    assert len(starts) == 1, lines
    assert columns.display_width("主用") == 4 and columns.display_width("ab") == 2
