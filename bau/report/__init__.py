"""Result tables and figures: the paper's tables from the metrics files (with the reported
numbers beside ours on real data) and the figures (loss curves, CMC, alignment/uniformity,
t-SNE, ranked retrieval lists).

`bau table` is :mod:`bau.report.tables`, `bau figure` is :mod:`bau.report.figures`.
"""
