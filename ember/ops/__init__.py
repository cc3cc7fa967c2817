"""Every differentiable primitive, forward and backward side by side (see DESIGN: "one door")."""
import warnings as _warnings

# IEEE arithmetic gives inf/nan silently in torch (softmax of inf, inf * 0, inf - inf); NumPy reports the
# same events as RuntimeWarnings. Silence exactly those, and only when Ember's own code triggered them:
# a user's NumPy code keeps its warnings, and no op pays for an np.errstate context.
_warnings.filterwarnings("ignore", message=r"(invalid value|divide by zero|overflow|underflow) encountered",
                         category=RuntimeWarning, module=r"ember(\.|$)")
