"""Loss kernels, grouped by family. Importing this package registers every loss, in the
order of the imports below, which is the order of the catalogue (`losscli losses`)."""

# isort: off
from losscli.losses import regression  # noqa: F401
from losscli.losses import deviance  # noqa: F401
from losscli.losses import classification  # noqa: F401
from losscli.losses import metrics  # noqa: F401
from losscli.losses import probabilistic  # noqa: F401
from losscli.losses import divergence  # noqa: F401
from losscli.losses import embedding  # noqa: F401
from losscli.losses import forecast  # noqa: F401
from losscli.losses import ranking_query  # noqa: F401
from losscli.losses import quantiles  # noqa: F401
# isort: on
