"""Development tooling that production never imports: the embedded stack (``humas_dev.stack``), the platform
sandbox (``humas_dev.sandbox``) and the sample item (``humas_dev.sample``). The product is ``humas``."""
