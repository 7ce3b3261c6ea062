"""What simulated runs are made of: model families, datasets, hardware and benign warnings.

The numbers are order-of-magnitude faithful to the public datasets and models (sizes, class lists,
typical accuracies, throughputs on a data-center GPU), so that a run reads as plausible to an
engineer who has trained these models. They are inputs to the world model, never outputs.
"""

from __future__ import annotations

import dataclasses
from typing import Final


@dataclasses.dataclass(frozen=True, slots=True)
class ModelSpec:
    name: str
    family: str
    modality: str
    # Parameters before the classification head; the head adds (head_in + 1) * num_classes.
    backbone_params: int
    head_in: int
    # Where in the dataset's accuracy range this model lands (0 = low end, 1 = high end).
    quality: float
    # Training samples per second on an A100 with mixed precision at the reference input size.
    throughput: float
    # Optimizers this family is usually trained with, and the well-tuned peak learning rate of each.
    lr: dict[str, float]
    batch_sizes: tuple[int, ...]
    epochs: tuple[int, int]
    # Full-data epochs for the loss to cover 63% of the way from chance to its floor at the tuned lr.
    tau: float
    pretrained: bool
    min_image_size: int = 0


@dataclasses.dataclass(frozen=True, slots=True)
class NumericFeature:
    name: str
    mean: float
    std: float


@dataclasses.dataclass(frozen=True, slots=True)
class DatasetSpec:
    name: str
    modality: str
    # Class names in the dataset's native (published) order.
    classes: tuple[str, ...]
    # Natural class frequencies, native order.
    class_weights: tuple[float, ...]
    # Labelled pool that the pipeline splits into train/val (and test when there is no official test).
    pool_size: int
    # Size of the official test split; 0 when the pipeline must carve its own.
    official_test: int
    # Validation accuracy range a well-trained model reaches on the full data.
    acc_range: tuple[float, float]
    id_prefix: str
    id_digits: int
    # Source-item key when several samples come from one source (a lesion, a movie, a client).
    group_key: str | None = None
    group_mean_size: float = 1.0
    primary_metric: str = "accuracy"
    storage: str = ""
    # Class order of the data team's exported label file (used by a stale label map); native if empty.
    exported_order: tuple[str, ...] = ()
    # Vision
    image_size: int = 0
    channel_mean: tuple[float, ...] = ()
    channel_std: tuple[float, ...] = ()
    # Text
    mean_tokens: float = 0.0
    max_lengths: tuple[int, ...] = ()
    text_column: str = "text"
    # Tabular
    target: str = ""
    numeric: tuple[NumericFeature, ...] = ()
    categorical: tuple[tuple[str, int], ...] = ()


def _w(*counts: float) -> tuple[float, ...]:
    total = sum(counts)
    return tuple(c / total for c in counts)


MODELS: Final[tuple[ModelSpec, ...]] = (
    # Vision
    ModelSpec("resnet18", "resnet", "vision", 11_176_512, 512, 0.45, 3000.0,
              {"sgd": 0.1, "adamw": 1e-3, "adam": 1e-3}, (64, 128, 256), (20, 60), 5.0, False),
    ModelSpec("resnet50", "resnet", "vision", 23_508_032, 2048, 0.65, 1250.0,
              {"sgd": 0.1, "adamw": 8e-4}, (64, 128, 256), (20, 50), 4.0, True),
    ModelSpec("efficientnet_b0", "efficientnet", "vision", 4_007_548, 1280, 0.55, 1600.0,
              {"rmsprop": 2e-3, "adamw": 1e-3, "sgd": 0.05}, (64, 128), (20, 50), 3.5, True, 64),
    ModelSpec("convnext_tiny", "convnext", "vision", 27_820_128, 768, 0.85, 950.0,
              {"adamw": 4e-4, "sgd": 0.05}, (32, 64, 128), (15, 40), 3.0, True, 64),
    ModelSpec("vit_small_patch16_224", "vit", "vision", 21_665_664, 384, 0.8, 1500.0,
              {"adamw": 3e-4, "adam": 2e-4}, (32, 64, 128), (10, 30), 2.0, True, 224),
    # Text
    ModelSpec("distilbert-base-uncased", "distilbert", "text", 66_953_472, 768, 0.55, 1800.0,
              {"adamw": 5e-5, "adam": 3e-5}, (16, 32, 64), (3, 8), 0.35, True),
    ModelSpec("bert-base-uncased", "bert", "text", 109_482_240, 768, 0.7, 900.0,
              {"adamw": 3e-5, "adam": 2e-5}, (16, 32), (3, 6), 0.3, True),
    ModelSpec("roberta-base", "roberta", "text", 125_236_224, 768, 0.85, 850.0,
              {"adamw": 2e-5, "adam": 2e-5}, (16, 32), (3, 6), 0.3, True),
    ModelSpec("textcnn", "cnn", "text", 6_442_700, 300, 0.2, 20000.0,
              {"adam": 1e-3, "sgd": 0.05, "rmsprop": 1e-3}, (64, 128, 256), (10, 30), 1.5, False),
    # Tabular (backbone_params is recomputed from the input width)
    ModelSpec("mlp", "mlp", "tabular", 0, 256, 0.35, 60000.0,
              {"adam": 1e-3, "adamw": 1e-3, "sgd": 0.05, "rmsprop": 1e-3}, (128, 256, 512), (30, 80), 2.0, False),
    ModelSpec("ft_transformer", "transformer", "tabular", 0, 192, 0.8, 15000.0,
              {"adamw": 1e-4, "adam": 2e-4}, (128, 256, 512), (30, 60), 2.5, False),
    ModelSpec("tabnet", "tabnet", "tabular", 0, 64, 0.55, 8000.0,
              {"adam": 1e-2, "adamw": 8e-3}, (256, 512, 1024), (30, 80), 3.0, False),
    ModelSpec("tab_resnet", "resnet", "tabular", 0, 256, 0.6, 40000.0,
              {"adamw": 1e-3, "sgd": 0.05, "adam": 1e-3}, (128, 256, 512), (30, 80), 2.0, False),
)

DATASETS: Final[tuple[DatasetSpec, ...]] = (
    # Vision
    DatasetSpec(
        "cifar10", "vision",
        ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"),
        _w(*[1] * 10), 50_000, 10_000, (0.9, 0.965), "img_", 5, storage="s3://ml-datasets/cifar10",
        exported_order=("cat", "dog", "airplane", "automobile", "bird", "deer", "frog", "horse", "ship", "truck"),
        image_size=32, channel_mean=(0.4914, 0.4822, 0.4465), channel_std=(0.2470, 0.2435, 0.2616),
    ),
    DatasetSpec(
        "fashion_mnist", "vision",
        ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"),
        _w(*[1] * 10), 60_000, 10_000, (0.91, 0.945), "fm_", 5, storage="s3://ml-datasets/fashion-mnist",
        image_size=28, channel_mean=(0.2860,), channel_std=(0.3530,),
    ),
    DatasetSpec(
        "eurosat", "vision",
        ("AnnualCrop", "Forest", "HerbaceousVegetation", "Highway", "Industrial", "Pasture", "PermanentCrop",
         "Residential", "River", "SeaLake"),
        _w(3000, 3000, 3000, 2500, 2500, 2000, 2500, 3000, 2500, 3000), 27_000, 0, (0.96, 0.99), "tile_", 5,
        storage="gs://geo-datasets/eurosat-rgb",
        exported_order=("SeaLake", "River", "Residential", "PermanentCrop", "Pasture", "Industrial", "Highway",
                        "HerbaceousVegetation", "Forest", "AnnualCrop"),
        image_size=64, channel_mean=(0.3444, 0.3803, 0.4078), channel_std=(0.2037, 0.1366, 0.1148),
    ),
    DatasetSpec(
        "ham10000", "vision",
        ("akiec", "bcc", "bkl", "df", "mel", "nv", "vasc"),
        _w(327, 514, 1099, 115, 1113, 6705, 142), 10_015, 0, (0.8, 0.89), "ISIC_", 7,
        group_key="lesion_id", group_mean_size=1.34, primary_metric="macro_f1",
        storage="s3://med-imaging/ham10000",
        exported_order=("nv", "mel", "bkl", "bcc", "akiec", "vasc", "df"),
        image_size=224, channel_mean=(0.7635, 0.5461, 0.5705), channel_std=(0.1409, 0.1526, 0.1700),
    ),
    # Text
    DatasetSpec(
        "ag_news", "text", ("World", "Sports", "Business", "Sci/Tech"), _w(1, 1, 1, 1),
        120_000, 7_600, (0.925, 0.952), "agn-", 6, storage="hf://datasets/ag_news",
        mean_tokens=53.0, max_lengths=(128, 256),
    ),
    DatasetSpec(
        "imdb", "text", ("neg", "pos"), _w(1, 1), 25_000, 25_000, (0.9, 0.955), "imdb-", 5,
        group_key="movie_id", group_mean_size=7.6, storage="hf://datasets/imdb",
        exported_order=("pos", "neg"), mean_tokens=294.0, max_lengths=(256, 512),
    ),
    DatasetSpec(
        "yelp_review_full", "text", ("1 star", "2 stars", "3 stars", "4 stars", "5 stars"), _w(1, 1, 1, 1, 1),
        650_000, 50_000, (0.6, 0.7), "yelp-", 6, group_key="business_id", group_mean_size=4.2,
        storage="hf://datasets/yelp_review_full",
        exported_order=("5 stars", "4 stars", "3 stars", "2 stars", "1 star"),
        mean_tokens=178.0, max_lengths=(256, 512),
    ),
    DatasetSpec(
        "emotion", "text", ("sadness", "joy", "love", "anger", "fear", "surprise"),
        _w(4666, 5362, 1304, 2159, 1937, 572), 16_000, 2_000, (0.89, 0.935), "emo-", 5,
        primary_metric="macro_f1", storage="hf://datasets/dair-ai/emotion",
        mean_tokens=23.0, max_lengths=(64, 128),
    ),
    # Tabular
    DatasetSpec(
        "adult_income", "tabular", ("<=50K", ">50K"), _w(76, 24), 32_561, 16_281, (0.84, 0.872), "row_", 6,
        storage="s3://tabular-bench/adult", exported_order=(">50K", "<=50K"), target="income",
        numeric=(NumericFeature("age", 38.58, 13.64), NumericFeature("fnlwgt", 189778.4, 105550.0),
                 NumericFeature("education_num", 10.08, 2.57), NumericFeature("capital_gain", 1077.6, 7385.3),
                 NumericFeature("capital_loss", 87.3, 403.0), NumericFeature("hours_per_week", 40.44, 12.35)),
        categorical=(("workclass", 9), ("education", 16), ("marital_status", 7), ("occupation", 15),
                     ("relationship", 6), ("race", 5), ("sex", 2), ("native_country", 42)),
    ),
    DatasetSpec(
        "covertype", "tabular",
        ("Spruce/Fir", "Lodgepole Pine", "Ponderosa Pine", "Cottonwood/Willow", "Aspen", "Douglas-fir",
         "Krummholz"),
        _w(211840, 283301, 35754, 2747, 9493, 17367, 20510), 581_012, 0, (0.9, 0.965), "cov_", 6,
        primary_metric="macro_f1", storage="s3://tabular-bench/covertype", target="cover_type",
        numeric=(NumericFeature("elevation", 2959.4, 279.98), NumericFeature("aspect", 155.66, 111.91),
                 NumericFeature("slope", 14.1, 7.49), NumericFeature("horizontal_distance_to_hydrology", 269.4, 212.5),
                 NumericFeature("vertical_distance_to_hydrology", 46.42, 58.3),
                 NumericFeature("horizontal_distance_to_roadways", 2350.1, 1559.3),
                 NumericFeature("hillshade_9am", 212.15, 26.77), NumericFeature("hillshade_noon", 223.32, 19.77),
                 NumericFeature("hillshade_3pm", 142.53, 38.27),
                 NumericFeature("horizontal_distance_to_fire_points", 1980.3, 1324.2)),
        categorical=(("wilderness_area", 4), ("soil_type", 40)),
    ),
    DatasetSpec(
        "bank_marketing", "tabular", ("no", "yes"), _w(39922, 5289), 45_211, 0, (0.895, 0.915), "bm_", 6,
        group_key="client_id", group_mean_size=1.38, primary_metric="macro_f1",
        storage="s3://tabular-bench/bank-marketing", exported_order=("yes", "no"), target="subscribed",
        numeric=(NumericFeature("age", 40.94, 10.62), NumericFeature("balance", 1362.3, 3044.8),
                 NumericFeature("day", 15.81, 8.32), NumericFeature("duration", 258.2, 257.5),
                 NumericFeature("campaign", 2.76, 3.1), NumericFeature("pdays", 40.2, 100.1),
                 NumericFeature("previous", 0.58, 2.3)),
        categorical=(("job", 12), ("marital", 3), ("education", 4), ("default", 2), ("housing", 2),
                     ("loan", 2), ("contact", 3), ("month", 12), ("poutcome", 4)),
    ),
    DatasetSpec(
        "telco_churn", "tabular", ("No", "Yes"), _w(5174, 1869), 7_043, 0, (0.78, 0.815), "cust_", 5,
        storage="s3://tabular-bench/telco-churn", exported_order=("Yes", "No"), target="churn",
        numeric=(NumericFeature("tenure", 32.37, 24.56), NumericFeature("monthly_charges", 64.76, 30.09),
                 NumericFeature("total_charges", 2283.3, 2266.8)),
        categorical=(("contract", 3), ("payment_method", 4), ("internet_service", 3), ("online_security", 3),
                     ("tech_support", 3), ("paperless_billing", 2), ("senior_citizen", 2), ("partner", 2)),
    ),
)

MODELS_BY_MODALITY: Final[dict[str, tuple[ModelSpec, ...]]] = {
    m: tuple(spec for spec in MODELS if spec.modality == m) for m in ("vision", "text", "tabular")
}
DATASETS_BY_MODALITY: Final[dict[str, tuple[DatasetSpec, ...]]] = {
    m: tuple(spec for spec in DATASETS if spec.modality == m) for m in ("vision", "text", "tabular")
}
MODALITIES: Final[tuple[str, ...]] = ("vision", "text", "tabular")


@dataclasses.dataclass(frozen=True, slots=True)
class Gpu:
    name: str
    speed: float  # throughput relative to an A100
    bf16: bool
    memory_gb: int


GPUS: Final[tuple[Gpu, ...]] = (
    Gpu("NVIDIA A100-SXM4-40GB", 1.0, True, 40),
    Gpu("NVIDIA A100-SXM4-80GB", 1.0, True, 80),
    Gpu("NVIDIA H100 80GB HBM3", 1.8, True, 80),
    Gpu("NVIDIA A10G", 0.35, True, 24),
    Gpu("NVIDIA L4", 0.3, True, 24),
    Gpu("Tesla V100-SXM2-16GB", 0.45, False, 16),
)

# Optimizers that scale each step by running gradient statistics.
ADAPTIVE_OPTIMIZERS: Final[tuple[str, ...]] = ("adam", "adamw", "rmsprop")
# The largest learning rate a well-tuned adaptive optimizer uses here; a fix at or below it is safe.
SAFE_MAX_LR: Final[float] = 1e-2

OPTIMIZER_DISPLAY: Final[dict[str, str]] = {
    "sgd": "SGD",
    "adam": "Adam",
    "adamw": "AdamW",
    "rmsprop": "RMSprop",
}

SCHEDULERS: Final[tuple[str, ...]] = ("cosine", "linear", "step", "onecycle", "exponential", "constant")

TORCH_VERSIONS: Final[tuple[str, ...]] = ("2.3.1+cu121", "2.4.1+cu121", "2.5.1+cu124", "2.6.0+cu124")
PYTHON_SITE: Final[tuple[str, ...]] = (
    "/opt/conda/lib/python3.11/site-packages",
    "/usr/local/lib/python3.10/dist-packages",
    "/home/ml/.venv/lib/python3.11/site-packages",
)
HOST_PREFIXES: Final[tuple[str, ...]] = ("gpu-node", "trainer", "ml-worker", "a100-pool", "dgx")
TEAM_NAMES: Final[tuple[str, ...]] = ("vision-platform", "nlp-core", "risk-ml", "applied-ml", "ml-research")
