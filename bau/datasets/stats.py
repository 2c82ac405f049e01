"""Published image, identity and camera counts of the reference datasets.

`bau verify` counts what the parsers read from a dataset folder and compares it with these
numbers; a count that differs is a warning showing both numbers (mirrors of a dataset differ
slightly), a missing folder is an error. On a synthetic root the expected numbers are those
``bau synth`` recorded in the root's marker file (``bau.synth.expected_counts(scale)``), with
the same keys and the same meaning.

Keys are the folder-level dataset names (the DG variants market1501dg, msmt17dg and cuhk03dg
read the folders of market1501, msmt17 and cuhk03 and are checked against those). What each
field counts, as the parsers read it:

* market1501, msmt17, cuhk03: ``train_*`` = bounding_box_train, ``query_*`` = query,
  ``gallery_*`` = bounding_box_test; ``*_ids`` = distinct pids of that folder. Market's junk
  images (pid -1) are not counted anywhere; its distractors (pid 0) are gallery images and
  pid 0 counts as one gallery id. ``cameras`` = distinct cameras over the three folders.
* cuhksysu: ``train_images`` / ``train_ids`` of bounding_box_train; ``cameras`` distinct.
* cuhk02dg: ``images``; ``ids`` = sum over the five camera pairs of the distinct person ids
  of that pair (the classes of the DG parser); ``cameras`` = 10 (two per pair).
* grid: ``images`` = probe + gallery; ``ids`` = distinct person indices >= 1 (the index-0
  distractors are not counted as identities); ``cameras``.
* ilids: ``images``, ``ids`` (pseudo cameras are sequence numbers, so not checked).
* prid: ``images`` = cam_a + cam_b; ``ids`` = distinct people: the shared persons 1..S seen by
  both cameras plus the persons > S of cam_a and of cam_b (different people in each camera);
  ``cameras`` = 2.
* viper: ``images``, ``ids`` (= images per camera), ``cameras`` = 2.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class DatasetStats:
    """Expected counts of one dataset folder; ``None`` means "not checked"."""

    train_images: int | None = None
    train_ids: int | None = None
    query_images: int | None = None
    query_ids: int | None = None
    gallery_images: int | None = None
    gallery_ids: int | None = None
    images: int | None = None
    ids: int | None = None
    cameras: int | None = None


@dataclass(frozen=True)
class PublishedStats:
    """Expected counts of one dataset and where they come from (a publication, or bau.synth)."""

    stats: DatasetStats
    source: str
    note: str = ""


PUBLISHED: dict[str, PublishedStats] = {
    "market1501": PublishedStats(
        DatasetStats(
            train_images=12936,
            train_ids=751,
            query_images=3368,
            query_ids=750,
            gallery_images=15913,
            gallery_ids=751,
            cameras=6,
        ),
        "Zheng et al., 'Scalable Person Re-identification: A Benchmark', ICCV 2015; gallery "
        "without the 3,819 junk (-1) images, as in the reference parser's docstring (docs/reference.md §1.2)",
    ),
    "msmt17": PublishedStats(
        DatasetStats(
            train_images=32621,
            train_ids=1041,
            query_images=11659,
            query_ids=3060,
            gallery_images=82161,
            gallery_ids=3060,
            cameras=15,
        ),
        "Wei et al., 'Person Transfer GAN to Bridge Domain Gap for Person Re-Identification', "
        "CVPR 2018 (MSMT17_V1; docs/reference.md §1.4)",
    ),
    "cuhk03": PublishedStats(
        DatasetStats(
            train_images=7365,
            train_ids=767,
            query_images=1400,
            query_ids=700,
            gallery_images=5332,
            gallery_ids=700,
            cameras=2,
        ),
        "Zhong et al., 'Re-ranking Person Re-identification with k-reciprocal Encoding', "
        "CVPR 2017 (CUHK03-NP, detected boxes; docs/reference.md §1.6)",
    ),
    "cuhk02dg": PublishedStats(
        DatasetStats(images=7264, ids=1816, cameras=10),
        "Li and Wang, 'Locally Aligned Feature Transforms across Views', CVPR 2013 "
        "(971+306+107+193+239 identities in P1-P5; docs/reference.md §1.8)",
    ),
    "cuhksysu": PublishedStats(
        DatasetStats(train_images=34574, train_ids=11934),
        "M3L, Zhao et al., 'Learning to Generalize Unseen Domains via Memory-based Multi-Source "
        "Meta-Learning for Person Re-ID', CVPR 2021, Table 1 (docs/reference.md §1.9)",
        note="public sources disagree on this folder: 5,532 ids / 18,184 images (the official "
        "CUHK-SYSU training split) is also in use; the number of training classes follows your copy",
    ),
    "grid": PublishedStats(
        DatasetStats(images=1275, ids=250, cameras=8),
        "Loy et al., 'Multi-camera activity correlation analysis', CVPR 2009 (QMUL GRID: 250 "
        "paired identities + 775 gallery distractors; docs/reference.md §1.10)",
    ),
    "ilids": PublishedStats(
        DatasetStats(images=476, ids=119),
        "Zheng et al., 'Associating Groups of People', BMVC 2009 (QMUL-iLIDS; docs/reference.md §1.11)",
    ),
    "prid": PublishedStats(
        DatasetStats(images=1134, ids=934, cameras=2),
        "Hirzer et al., 'Person Re-Identification by Descriptive and Discriminative "
        "Classification', SCIA 2011 (single shot: 385 people in view A, 749 in view B, 200 in both; "
        "docs/reference.md §1.12)",
    ),
    "viper": PublishedStats(
        DatasetStats(images=1264, ids=632, cameras=2),
        "Gray et al., 'Evaluating Appearance Models for Recognition, Reacquisition, and "
        "Tracking', PETS 2007 (docs/reference.md §1.13)",
    ),
}
