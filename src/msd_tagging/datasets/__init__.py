"""Custom Kedro datasets: the MSD readers, a catalogue's tables, the demo world, the ID maps."""

from msd_tagging.datasets.audio import AudioListingDataset, AudioPathsDataset
from msd_tagging.datasets.demo_world import DemoWorldDataset, RawInventoryDataset
from msd_tagging.datasets.features import FeatureStoreDataset
from msd_tagging.datasets.id_maps import IdMapsDataset
from msd_tagging.datasets.msd_files import MSDFileDataset
from msd_tagging.datasets.tables import TableDataset
from msd_tagging.datasets.torch_files import CheckpointDataset, TorchModelDataset

__all__ = [
    "AudioListingDataset",
    "AudioPathsDataset",
    "CheckpointDataset",
    "DemoWorldDataset",
    "FeatureStoreDataset",
    "IdMapsDataset",
    "MSDFileDataset",
    "RawInventoryDataset",
    "TableDataset",
    "TorchModelDataset",
]
