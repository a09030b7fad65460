"""The Jupyter server extension: builds ``MLOps`` once and registers the REST routes."""

from __future__ import annotations

import os

from jupyter_server.extension.application import ExtensionApp

from .app import MLOps
from .handlers import all_routes


class MLOpsExtension(ExtensionApp):
    name = "jupyterlab_mlops"
    load_other_extensions = True
    classes = [MLOps]

    def initialize_settings(self) -> None:
        mlops = MLOps(parent=self, config=self.config, root_dir=self.serverapp.root_dir)
        mlops.start()
        # Kernels started by this server inherit the environment, so code in a notebook
        # (``mlops.log_metric``, ``mlops.register_model``) writes to this same store.
        os.environ.update(mlops.child_environment())
        self.settings["mlops"] = mlops
        self.log.info(
            "jupyterlab_mlops: store %s, artifacts %s",
            mlops.db.display_url,
            mlops.resolved_artifact_root,
        )

    def initialize_handlers(self) -> None:
        self.handlers.extend(all_routes())

    async def stop_extension(self) -> None:
        mlops = self.settings.get("mlops")
        if mlops is not None:
            mlops.stop()
