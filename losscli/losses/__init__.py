"""Loss kernels, grouped by family. Importing this package registers every loss."""

from losscli.losses import regression  # noqa: F401
