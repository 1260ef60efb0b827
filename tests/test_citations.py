"""Every registered method cites its paper as the DCDR-UNet paper's reference list does (authors' surnames, a title
fragment, the year), transcribed here from ../shared/paper (references [1], [2], [6], [16], [22], [28]) and the
paper's own title block; docs/methods.md has the table."""

from __future__ import annotations

import pytest

from hdrbench.registry import METHODS

#: method -> (surnames in order, words of the title, year), from the DCDR-UNet paper's text.
REFERENCES = {
    "dcdr": (["Kim", "Zhu", "Bau", "Liu"], "Deformable Convolution Based Detail Restoration", "2024"),
    "hdrunet": (["Chen", "Liu", "Zhang", "Qiao", "Dong"], "Single Image HDR Reconstruction", "2021"),
    "hdrtv": (["Chen", "Zhang", "Ren", "Tian", "Qiao", "Dong"], "SDRTV to HDRTV", "2021"),
    "hdrcnn": (["Eilertsen", "Kronander", "Denes", "Mantiuk", "Unger"], "single exposure using deep CNNs", "2017"),
    "fhdr": (["Khan", "Khanna", "Raman"], "Feedback Network", "2019"),
    "singlehdr": (["Liu", "Lai", "Chen", "Kao", "Yang", "Chuang", "Huang"], "Reverse the Camera Pipeline", "2020"),
    "kunet": (["Wang", "Ye", "Zhu", "Li", "Zhu", "Li"], "Knowledge-Inspired Single HDR Image", "2022"),
    # The expansion operators (not in the DCDR-UNet paper): from the paper headers of HDR Toolbox 5375d05
    # (source_code/EO/MasiaEO.m, HuoPhysEO.m, KovaleskiOliveiraEO.m) and the papers' titles (AkyuzEO.m and
    # LandisEO.m name none).
    "akyuz": (["Akyüz", "Fleming", "Riecke", "Reinhard", "Bülthoff"], "Do HDR displays support LDR content", "2007"),
    "landis": (["Landis"], "Production-ready global illumination", "2002"),
    "masia": (["Masia", "Fleming", "Sorkine", "Gutierrez"], "Evaluation of reverse tone mapping", "2009"),
    "huo": (["Huo", "Yang", "Dong", "Brost"], "Physiological inverse tone mapping based on retina response", "2014"),
    "kovaleski-oliveira": (["Kovaleski", "Oliveira"], "High-quality reverse tone mapping for a wide range", "2014"),
}


@pytest.mark.parametrize("name", sorted(REFERENCES))
def test_citation_matches_the_reference(name):
    citation = METHODS.get(name).citation
    surnames, title, year = REFERENCES[name]
    start = 0
    for s in surnames:  # every author, in the paper's order, before the title
        at = citation.find(s, start)
        assert at >= 0, (name, s, citation)
        start = at + len(s)
    assert citation.lower().find(title.lower()) >= start, (name, "title after the authors", citation)
    assert year in citation, (name, citation)


def test_every_published_method_is_checked():
    published = {n for n in METHODS.names() if not n.startswith(("dcdr-", "identity", "fake"))}
    assert published <= set(REFERENCES), published - set(REFERENCES)
