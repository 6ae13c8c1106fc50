"""Rule collect_classified_photos: the per-photo tables in one
predictions.csv, and the contact sheet of every classified face."""

import logging

from fer_workflow import plots, runtime

runtime.setup(snakemake)

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from fer_workflow import arrays  # noqa: E402
from fer_workflow.use import classify  # noqa: E402

tables = [pd.read_csv(path, keep_default_na=False, na_values=[""]) for path in snakemake.input.tables]
crops = [arrays.load(path, ["crops"])["crops"] for path in snakemake.input.crops]
table = pd.concat(tables, ignore_index=True) if tables else pd.DataFrame(columns=classify.COLUMNS)
table = classify.integer_columns(table)
crops = np.concatenate(crops) if crops else np.zeros((0, 48, 48), np.uint8)
faces = table[table["expression"].fillna("") != ""]
if snakemake.params.warning:
    logging.warning("%s", snakemake.params.warning)
logging.info("model: %s", snakemake.params.model)
logging.info("%d photos, %d faces", table["file"].nunique(), len(faces))
logging.info("faces per expression:\n%s", faces["expression"].value_counts().to_string())
table.to_csv(snakemake.output.predictions, index=False)
sheet = classify.contact_sheet(table, crops, model=snakemake.params.model, warning=snakemake.params.warning)
plots.save(sheet, snakemake.output.contact_sheet)
