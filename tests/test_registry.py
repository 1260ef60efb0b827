"""The registry: decorator registration, unknown names, and a plugin added through an entry point."""

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

    monkeypatch.setattr(registry.METHODS, "_plugins_loaded", False)
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
