"""The compliance review web UI (``/ui``): sign-in per tenant, report search and
detail, review actions, dashboard and exports. :func:`gateway.web.ui.install_ui`
mounts it on the gateway's FastAPI app; templates and static files ship in the
package (no CDN: the UI works offline)."""
