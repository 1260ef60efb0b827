"""The two readings of the DCDR-UNet paper's training protocol for the baselines: ``paper`` (DCDR's own §4.1.3
recipe on every method) and ``paper-patches`` (§4.4.1: "using their official implementation ... The same 512 × 512
patches are used as well"): each changes exactly what its reading says, checked against the official recipes."""

from __future__ import annotations

import dataclasses

import pytest

from hdrbench.method import create_method


def recipe(name: str, recipes: str, stage: int = 0):
    return create_method(name, recipes=recipes).stages(recipes)[stage].recipe


@pytest.mark.parametrize("name", ["fhdr", "hdrunet", "kunet", "hdrtv"])
def test_paper_patches_changes_only_the_patches(name):
    official, patches = recipe(name, "official"), recipe(name, "paper-patches")
    changed = {f.name for f in dataclasses.fields(official) if getattr(official, f.name) != getattr(patches, f.name)}
    assert changed <= {"patch_size", "crop", "source"}
    assert (patches.patch_size, patches.crop) == (512, "grid") and "§4.4.1" in patches.source


def test_paper_gives_every_method_dcdrs_recipe_and_patches_keeps_fhdrs():
    paper, patches = recipe("fhdr", "paper"), recipe("fhdr", "paper-patches")
    assert (paper.batch_size, paper.iterations, paper.optimizer) == (16, 200_000, "adam")  # §4.1.3
    assert (patches.batch_size, patches.lr) == (2, 2e-4)  # FHDR's official batch and lr (mukulkhanna/FHDR)
    hg_paper, hg_patches = recipe("hdrtv", "paper", 2), recipe("hdrtv", "paper-patches", 2)
    assert hg_paper.iterations == 200_000 and hg_patches.iterations == 500_000  # HDRTV's HG stage, official length


def test_both_paper_readings_put_hdrcnn_in_whole_image_mode():
    assert create_method("hdrcnn", recipes="official").options["mode"] == "official"
    for r in ("paper", "paper-patches"):
        assert create_method("hdrcnn", recipes=r).options["mode"] == "whole"  # §4.4.1: "for entirely region"
