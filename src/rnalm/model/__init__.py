"""The encoder shared by all published RNA language models."""

from rnalm.model.config import NAMED_SIZES, EncoderConfig, named_config
from rnalm.model.encoder import RNAEncoder, build_encoder

__all__ = ["EncoderConfig", "NAMED_SIZES", "named_config", "RNAEncoder", "build_encoder"]
