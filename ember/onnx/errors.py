"""The exceptions ``torch.onnx.export`` raises (torch.onnx.errors)."""

__all__ = ["OnnxExporterError", "UnsupportedOperatorError", "OnnxExporterWarning"]


class OnnxExporterError(RuntimeError):
    """Errors raised by the ONNX exporter."""


class OnnxExporterWarning(UserWarning):
    """Warnings from the ONNX exporter (e.g. a value it had to bake in as a constant)."""


class UnsupportedOperatorError(OnnxExporterError):
    """An op the forward ran has no ONNX translation (at this opset)."""

    def __init__(self, name, version, supported_version=None, detail=""):
        if supported_version is not None:
            msg = (f"Exporting the operator '{name}' to ONNX opset version {version} is not supported. Support "
                   f"for this operator was added in version {supported_version}, try exporting with this version.")
        else:
            msg = f"Exporting the operator '{name}' to ONNX opset version {version} is not supported."
        super().__init__(msg + (f" {detail}" if detail else ""))
        self.name, self.version, self.supported_version = name, version, supported_version
