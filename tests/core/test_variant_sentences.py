"""The variants section says which FP32 size each ratio is taken against in a sentence that
reads correctly, in HTML and in Markdown alike."""

from __future__ import annotations

from profiler.records.report import Report
from profiler.records.variants import Variant
from profiler.report.exporters.html_variants import render_variants
from profiler.report.exporters.markdown_variants import size_reference_sentence, variants_markdown

IR = ("the ov-fp32 IR (FP32, weights stored); the model file generates its weights at load "
      "time")
MIB = 1024 * 1024


def _report() -> Report:
    def variant(name: str, size: int, what: str) -> Variant:
        return Variant(id=name, file_bytes=size // 4, size_reference_bytes=size,
                       size_reference=what)

    return Report(variants=[Variant(id="fp32"), variant("int8-static", 44 * MIB, IR),
                            variant("ov-int8", 44 * MIB, IR),
                            variant("fp16", 10 * MIB, "the FP32 model file")])


EXPECTED = ("Size ratios of int8-static and ov-int8 are relative to the ov-fp32 IR (FP32, "
            "weights stored), 44.00 MiB. The model file generates its weights at load time.")


def test_sentence_wording() -> None:
    assert size_reference_sentence("int8-static, ov-int8", 44 * MIB, IR) == EXPECTED
    assert size_reference_sentence("fp16", 10 * MIB, "the FP32 model file") == (
        "The size ratio of fp16 is relative to the FP32 model file, 10.00 MiB.")
    assert size_reference_sentence("a, b, c", 1024, "the FP32 model file").startswith(
        "Size ratios of a, b and c are relative to")


def test_html_and_markdown_say_it_the_same_way() -> None:
    html = render_variants(_report())
    assert f"<p>{EXPECTED}</p>" in html
    assert "<p>The size ratio of fp16 is relative to the FP32 model file, 10.00 MiB.</p>" in html
    assert "taken against" not in html
    markdown = "\n".join(variants_markdown(_report()))
    assert f"- {EXPECTED}" in markdown
    assert "- The size ratio of fp16 is relative to the FP32 model file, 10.00 MiB." in markdown
