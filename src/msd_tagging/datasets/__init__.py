"""Custom Kedro datasets: the MSD readers, a catalogue's tables, the demo world's folder,
the feature and embedding stores, the ID maps, and the atomic wrapper of every file dataset."""

from msd_tagging.datasets.atomic import AtomicDataset
from msd_tagging.datasets.audio import AudioListingDataset, AudioPathsDataset
from msd_tagging.datasets.demo_world import RawFolderDataset, RawInventoryDataset
from msd_tagging.datasets.embeddings import EmbeddingManifestDataset, EmbeddingStoreDataset
from msd_tagging.datasets.features import FeatureManifestDataset, FeatureStoreDataset
from msd_tagging.datasets.id_maps import IdMapsDataset
from msd_tagging.datasets.msd_files import MSDFileDataset
from msd_tagging.datasets.report_csv import ReportCSVDataset
from msd_tagging.datasets.tables import TableDataset
from msd_tagging.datasets.torch_files import CheckpointDataset, TorchModelDataset

__all__ = [
    "AtomicDataset",
    "AudioListingDataset",
    "AudioPathsDataset",
    "CheckpointDataset",
    "EmbeddingManifestDataset",
    "EmbeddingStoreDataset",
    "FeatureManifestDataset",
    "FeatureStoreDataset",
    "IdMapsDataset",
    "MSDFileDataset",
    "RawFolderDataset",
    "ReportCSVDataset",
    "RawInventoryDataset",
    "TableDataset",
    "TorchModelDataset",
]
