"""Every differentiable primitive, forward and backward side by side (see DESIGN: "one door")."""
