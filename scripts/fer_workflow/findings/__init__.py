"""The study's claims with their tests and verdicts: claims, agreement (FER+).

The package's own names are those of ``claims`` (``fer_workflow.findings.claims``),
so ``from fer_workflow import findings`` reads as before. They load on first use,
so importing one of the other modules here loads only that one."""

from fer_workflow import lazy_facade

# The public names of claims (tests/test_layout.py checks the list).
NAMES = (
    "COLUMNS",
    "CURVES",
    "FAITHFULNESS_TEST",
    "FILTER_TEST",
    "NOTHING_CHOSEN",
    "REGION_TEST",
    "SHARE_TEST",
    "chosen_on_validation",
    "collect",
    "confusion_pvalues",
    "confusion_rows",
    "ensemble_comparison",
    "faithfulness_rows",
    "filter_claims",
    "filter_rows",
    "html_page",
    "inconclusive",
    "markdown",
    "method_pair_rows",
    "model_comparison",
    "passes_sanity",
    "region_claims",
    "region_rows",
    "sane_method",
    "sanity_rows",
    "seed_comparison",
    "table",
)
SUBMODULES = (
    "agreement",
    "claims",
)


__getattr__, __dir__ = lazy_facade(__name__, "claims", NAMES, SUBMODULES)
