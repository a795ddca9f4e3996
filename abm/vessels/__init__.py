"""Vessels: the perfused lumen geometry that supplies oxygen and exchanges with blood."""
