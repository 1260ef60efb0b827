"""The registry: decorator registration, unknown names, plugins added through entry points, lazy loading."""

from __future__ import annotations

import json
import sys
import textwrap

import pytest

from hdrbench.errors import HDRBenchError
from hdrbench.registry import Registry


def test_register_and_get():
    reg = Registry("widget", "hdrbench.test-widgets")

    @reg.register("alpha")
    class Alpha:
        pass

    assert reg.get("alpha") is Alpha
    assert reg.get("ALPHA") is Alpha
    assert reg.names() == ["alpha"]
    assert Alpha.name == "alpha"


def test_unknown_name_suggests_closest():
    reg = Registry("widget", "hdrbench.test-widgets")
    reg.register("hdrunet", object)
    with pytest.raises(HDRBenchError, match="did you mean 'hdrunet'"):
        reg.get("hdrunte")


def test_duplicate_registration_is_an_error():
    reg = Registry("widget", "hdrbench.test-widgets")
    reg.register("a", int)
    with pytest.raises(HDRBenchError, match="registered twice"):
        reg.register("a", float)


def _install_plugin(tmp_path, group: str, ep_name: str, target: str, module_src: str, module: str):
    """Write a tiny installed distribution (dist-info + module) into tmp_path and put it on sys.path."""
    (tmp_path / f"{module}.py").write_text(textwrap.dedent(module_src))
    dist = tmp_path / f"{module}_plugin-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {module}-plugin\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text(f"[{group}]\n{ep_name} = {target}\n")
    sys.path.insert(0, str(tmp_path))


def test_entry_point_plugin_object(tmp_path, monkeypatch):
    monkeypatch.setattr(sys, "path", list(sys.path))
    _install_plugin(tmp_path, "hdrbench.test-plugins", "thirdparty", "tp_method:ThirdParty",
                    "class ThirdParty:\n    citation = 'Doe 2026'\n", "tp_method")
    reg = Registry("method", "hdrbench.test-plugins")
    obj = reg.get("thirdparty")
    assert obj.__name__ == "ThirdParty" and obj.citation == "Doe 2026"


def test_entry_point_plugin_module_registers_itself(tmp_path, monkeypatch):
    """A plugin module that registers a real Method with hdrbench's METHODS through the decorator."""
    monkeypatch.setattr(sys, "path", list(sys.path))
    src = '''
        import torch
        from hdrbench.method import Method, Recipe
        from hdrbench.registry import register_method

        @register_method("plugin-identity")
        class PluginIdentity(Method):
            """A plugin method: HDR = LDR squared."""
            recipe = Recipe(lr=1e-3)
            default_options = {"width": 4}

            def build_network(self):
                return torch.nn.Conv2d(3, 3, 1)

            def build_loss(self):
                return torch.nn.L1Loss()
    '''
    _install_plugin(tmp_path, "hdrbench.methods", "plugin-identity", "tp_plugin_mod", src, "tp_plugin_mod")
    from hdrbench import registry

    monkeypatch.setattr(registry.METHODS, "_entry_points", None)
    monkeypatch.setattr(registry.METHODS, "_items", dict(registry.METHODS._items))
    assert "plugin-identity" in registry.METHODS.names()
    from hdrbench.method import create_method

    m = create_method("plugin-identity", width=8)
    assert m.options["width"] == 8
    assert m.parameter_count() == 12
    with pytest.raises(HDRBenchError, match="unknown option"):
        create_method("plugin-identity", widht=8)


def test_cli_list_json_includes_a_plugin(tmp_path, cli):
    """`hdrbench list --json` in a fresh process sees a plugin found only through its entry point."""
    src = '''
        import torch
        from hdrbench.method import Method
        from hdrbench.registry import register_method

        @register_method("plugin-cli")
        class PluginCli(Method):
            def build_network(self):
                return torch.nn.Conv2d(3, 3, 3)
    '''
    (tmp_path / "tp_cli_mod.py").write_text(textwrap.dedent(src))
    dist = tmp_path / "tp_cli-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: tp-cli\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text("[hdrbench.methods]\nplugin-cli = tp_cli_mod\n")
    import os
    import subprocess

    env = {**os.environ, "PYTHONPATH": str(tmp_path)}
    proc = subprocess.run([sys.executable, "-m", "hdrbench", "list", "--json", "--kind", "method"],
                          capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr
    rows = {r["name"]: r for r in json.loads(proc.stdout)}
    assert rows["plugin-cli"]["kind"] == "method"
    assert rows["plugin-cli"]["params"] == 3 * 3 * 9 + 3


def test_names_do_not_import_the_component(tmp_path, monkeypatch):
    """Names come from entry points alone; the module is imported on get(), and a broken one is named."""
    monkeypatch.setattr(sys, "path", list(sys.path))
    _install_plugin(tmp_path, "hdrbench.test-lazy", "broken", "tp_broken:Broken",
                    "raise RuntimeError('imported too early')\n", "tp_broken")
    reg = Registry("method", "hdrbench.test-lazy")
    assert reg.names() == ["broken"] and "broken" in reg and "BROKEN" in reg
    assert reg.check("Broken") == "broken"
    assert reg.origin("broken") == "tp_broken:Broken"
    assert "tp_broken" not in sys.modules
    with pytest.raises(HDRBenchError, match="tp_broken:Broken .*could not be imported.*imported too early"):
        reg.get("broken")
    with pytest.warns(UserWarning, match="could not be imported"):
        assert list(reg.items()) == []


def test_hint_never_replaces_a_correct_name():
    """A registered name resolves without a hint; only an unknown one gets 'did you mean'."""
    from hdrbench.registry import METHODS

    for name in METHODS.names():
        assert METHODS.check(name) == name
    with pytest.raises(HDRBenchError, match="did you mean 'dcdr-no-vgg'"):
        METHODS.check("dcdr-no-vg")
    with pytest.raises(HDRBenchError) as info:
        METHODS.check("zzzz")
    assert "did you mean" not in str(info.value)


def test_builtin_names_without_torch():
    """Listing and validating built-in names imports neither torch nor any method package (fresh process)."""
    import subprocess

    code = ("import sys\nfrom hdrbench.registry import DATASETS, METHODS, METRICS\n"
            "assert {'dcdr', 'hdrunet', 'singlehdr'} <= set(METHODS.names()), METHODS.names()\n"
            "assert {'psnr-l', 'lpips'} <= set(METRICS.names()) and 'demo' in DATASETS.names()\n"
            "METHODS.check('kunet'); METRICS.check('ssim'); DATASETS.check('folder')\n"
            "loaded = sorted(m for m in ('torch', 'dcdr', 'baselines', 'hdrbench.metrics') if m in sys.modules)\n"
            "assert not loaded, loaded\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr


def test_project_entry_points_are_the_source_tree_ones():
    """Run from a source tree, hdrbench's own entry points come from its pyproject.toml (an installed
    dist-info may be stale), and every one loads a class registered under its entry-point name."""
    import tomllib
    from pathlib import Path

    import hdrbench
    from hdrbench.registry import DATASETS, METHODS, METRICS

    pyproject = Path(hdrbench.__file__).resolve().parent.parent / "pyproject.toml"
    declared = tomllib.loads(pyproject.read_text())["project"]["entry-points"]
    for reg in (METHODS, METRICS, DATASETS):
        assert set(declared[reg.group]) <= set(reg.names())
        for name, target in declared[reg.group].items():
            assert reg.origin(name) == target
            assert reg.get(name).name == name
