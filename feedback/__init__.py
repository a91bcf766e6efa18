"""loopwise.feedback: review items, each review queue's rubric, corrections, versioned datasets
and prompts, and judge calibration against human verdicts.

Everything is append-only with provenance (who, when, why); current states are derived.
The collector hosts it as ``FeedbackExtension`` (routes under /api/reviews, /api/datasets,
/api/prompts, /api/calibration); ``LocalBackend`` and ``HttpBackend`` reach the same
operations from other processes.
"""

from .agreement import ReviewerAgreement, reviewer_agreement
from .backend import Backend, HttpBackend, LocalBackend
from .calibration import Calibration, calibrate
from .corrections import Correction, list_corrections
from .dataset_files import (
    FieldMapping,
    read_dataset_dir,
    read_examples_file,
    save_dataset_dir,
    write_examples_file,
)
from .dataset_model import DatasetVersion, Example, parse_example, parse_examples
from .dataset_snapshot import dataset_snapshot, restore_snapshot
from .dataset_sources import examples_from_corrections, examples_from_spans, examples_from_sql
from .datasets import (
    DatasetChange,
    change_dataset,
    create_dataset,
    dataset_versions,
    diff_versions,
    list_datasets,
    read_version,
)
from .errors import Conflict, FeedbackError, NotFound
from .extension import FeedbackExtension
from .langfuse_prompts import langfuse_prompt, langfuse_prompt_routes
from .operations import Call, Operation, all_operations
from .prompt_scores import scores_by_prompt_version
from .prompts import (
    PromptVersion,
    create_version,
    get_version,
    label_history,
    list_prompts,
    list_versions,
    set_label,
    template_diff,
)
from .proposals import Proposal, adopt, get_proposal, list_proposals, propose, reject
from .review_model import ACTIONS, STATES, ReviewEvent, ReviewItem
from .review_queries import get_item, item_history, list_items
from .review_sources import sync_review_items
from .reviews import act, pick_item
from .rubrics import (
    ItemRubric,
    Rubric,
    get_rubric,
    item_rubric,
    list_rubrics,
    rubric_history,
    set_rubric,
)
from .second_review import SecondReviews, request_second_reviews
from .verdicts import Verdict, parse_verdicts

__all__ = [
    "ACTIONS",
    "STATES",
    "Backend",
    "Calibration",
    "Call",
    "Conflict",
    "Correction",
    "DatasetChange",
    "DatasetVersion",
    "Example",
    "FeedbackError",
    "FeedbackExtension",
    "FieldMapping",
    "HttpBackend",
    "ItemRubric",
    "LocalBackend",
    "NotFound",
    "Operation",
    "PromptVersion",
    "Proposal",
    "ReviewEvent",
    "ReviewItem",
    "ReviewerAgreement",
    "Rubric",
    "SecondReviews",
    "Verdict",
    "act",
    "adopt",
    "all_operations",
    "calibrate",
    "change_dataset",
    "create_dataset",
    "create_version",
    "dataset_snapshot",
    "dataset_versions",
    "diff_versions",
    "examples_from_corrections",
    "examples_from_spans",
    "examples_from_sql",
    "get_item",
    "get_proposal",
    "get_rubric",
    "get_version",
    "item_history",
    "item_rubric",
    "label_history",
    "langfuse_prompt",
    "langfuse_prompt_routes",
    "list_corrections",
    "list_datasets",
    "list_items",
    "list_prompts",
    "list_proposals",
    "list_rubrics",
    "list_versions",
    "parse_example",
    "parse_examples",
    "parse_verdicts",
    "pick_item",
    "propose",
    "read_dataset_dir",
    "read_examples_file",
    "read_version",
    "reject",
    "request_second_reviews",
    "restore_snapshot",
    "reviewer_agreement",
    "rubric_history",
    "save_dataset_dir",
    "scores_by_prompt_version",
    "set_label",
    "set_rubric",
    "sync_review_items",
    "template_diff",
    "write_examples_file",
]
