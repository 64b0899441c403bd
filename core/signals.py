"""What the core tells the layers above it, each once the transaction that did it commits.

The core imports nothing of the live side: streaming/apps.py connects its receivers in
`AppConfig.ready()`, and they tell the viewers and the stream's holder.
"""

from django.dispatch import Signal

# A plot or its traces were edited, or the plot is being deleted; sent with plot_id=.
plot_changed = Signal()
# A stream token was revoked (or deleted); sent with token_id=.
token_revoked = Signal()
# The last plot a stream token fed was deleted: its open stream ends; sent with token_id=.
token_plot_deleted = Signal()
# Annotations of a plot were stored (annotations=[their as_dict()]) or deleted (deleted=[their
# ids]), one signal per plot per transaction; sent with plot_id=.
annotation_changed = Signal()
