"""Drawing one person-like figure with PIL.ImageDraw.

The figure is built from the identity's attributes (clothing colours and patterns, body
shape, hair, hat, bag) and the image's nuisance factors (view, walking phase). What is seen
depends on the view: a logo only from the front, a backpack fully only from the back, a
profile face and swinging limbs from the side. Side views are drawn facing right; the
caller mirrors the layer for people facing left.
"""

from __future__ import annotations

import math

from PIL import ImageDraw

from bau.synth.identities import RGB, Identity


def _shade(colour: RGB, factor: float) -> RGB:
    return tuple(max(0, min(255, int(c * factor))) for c in colour)


class FigurePainter:
    """Draws one figure: feet at (cx, feet_y), ``fig_h`` pixels tall, on an RGBA layer."""

    def __init__(self, draw: ImageDraw.ImageDraw, person: Identity, cx: float, feet_y: float, fig_h: float):
        self.d, self.p = draw, person
        F = fig_h
        self.F, self.cx = F, cx
        self.top = feet_y - F
        self.b = person.build
        self.shoulder_y = self.top + 0.175 * F
        self.waist_y = self.top + 0.50 * F
        self.hip_y = self.top + 0.53 * F
        self.ankle_y = self.top + 0.955 * F
        self.line = max(1, int(F / 110))  # outline width

    # -- primitives -------------------------------------------------------------------
    def poly(self, points, colour: RGB) -> None:
        self.d.polygon(points, fill=colour, outline=_shade(colour, 0.6), width=self.line)

    def limb(self, p0, p1, width: float, colour: RGB) -> None:
        r = width / 2
        self.d.line([p0, p1], fill=colour, width=max(1, int(round(width))))
        for x, y in (p0, p1):
            self.d.ellipse((x - r, y - r, x + r, y + r), fill=colour)

    def ellipse(self, box, colour: RGB) -> None:
        self.d.ellipse(box, fill=colour, outline=_shade(colour, 0.65), width=self.line)

    def torso_edges(self, y: float, half_top: float, half_bottom: float) -> tuple[float, float]:
        t = (y - self.shoulder_y) / (self.hip_y - self.shoulder_y)
        half = half_top + (half_bottom - half_top) * min(max(t, 0.0), 1.0)
        return self.cx - half, self.cx + half

    # -- body parts ---------------------------------------------------------------------
    def torso(self, view: str) -> None:
        F, b, p = self.F, self.b, self.p
        top_half = (0.12 if view != "side" else 0.07) * F * b
        bottom_half = (0.095 if view != "side" else 0.065) * F * b
        y0, y1 = self.shoulder_y, self.hip_y + 0.02 * F
        x0, x1 = self.torso_edges(y0, top_half, bottom_half)
        x2, x3 = self.torso_edges(y1, top_half, bottom_half)
        self.poly(
            [(x0, y0 + 0.02 * F), (x0 + 0.03 * F, y0), (x1 - 0.03 * F, y0), (x1, y0 + 0.02 * F), (x3, y1), (x2, y1)],
            p.top,
        )
        edges = lambda y: self.torso_edges(y, top_half, bottom_half)  # noqa: E731
        self.pattern(view, edges, y0, y1)

    def pattern(self, view: str, edges, y0: float, y1: float) -> None:
        F, p = self.F, self.p
        second = p.top_second
        kind = p.top_pattern

        def band(ya: float, yb: float, ta: float = 0.0, tb: float = 1.0) -> list[tuple[float, float]]:
            (la, ra), (lb, rb) = edges(ya), edges(yb)
            return [
                (la + ta * (ra - la), ya),
                (la + tb * (ra - la), ya),
                (lb + tb * (rb - lb), yb),
                (lb + ta * (rb - lb), yb),
            ]

        if kind in ("stripes", "check"):
            period = 0.045 * F
            y, row = y0 + 0.05 * F, 0
            while y < y1 - 0.01 * F:
                yb = min(y + period / 2, y1)
                if kind == "stripes":
                    self.d.polygon(band(y, yb), fill=second)
                else:
                    for col in range(4):
                        if (col + row) % 2 == 0:
                            self.d.polygon(band(y, yb, col / 4, (col + 1) / 4), fill=second)
                y, row = y + period / 2, row + 1
                if kind == "stripes":
                    y += period / 2
        elif kind == "split" and view != "side":
            self.d.polygon(
                band(y0 + 0.01 * F, y1, 0.5, 1.0) if view == "front" else band(y0 + 0.01 * F, y1, 0.0, 0.5), fill=second
            )
        elif kind == "logo" and view == "front":
            r = 0.04 * F
            cy = y0 + 0.11 * F
            self.d.ellipse((self.cx - r, cy - r, self.cx + r, cy + r), fill=second)
        elif kind == "jacket" and view == "front":
            self.d.polygon(band(y0 + 0.01 * F, y1, 0.36, 0.64), fill=second)
        elif kind == "jacket" and view == "side":
            self.d.polygon(band(y0 + 0.01 * F, y1, 0.75, 1.0), fill=second)

    def arm(self, shoulder, angle_deg: float, colour_factor: float = 1.0) -> tuple[float, float]:
        """One arm hanging from ``shoulder``, swung forward by ``angle_deg`` (towards +x); returns the wrist."""
        F, p = self.F, self.p
        width = 0.052 * F * math.sqrt(self.b)
        a = math.radians(angle_deg)
        elbow = (shoulder[0] + 0.16 * F * math.sin(a), shoulder[1] + 0.16 * F * math.cos(a))
        a2 = a + math.radians(12 if angle_deg >= 0 else 4)
        wrist = (elbow[0] + 0.15 * F * math.sin(a2), elbow[1] + 0.15 * F * math.cos(a2))
        sleeve = _shade(p.top, colour_factor)
        skin = _shade(p.skin, colour_factor)
        self.limb(shoulder, elbow, width, sleeve)
        self.limb(elbow, wrist, width * 0.88, sleeve if p.long_sleeves else skin)
        r = width * 0.5
        self.d.ellipse((wrist[0] - r, wrist[1] - r, wrist[0] + r, wrist[1] + r * 1.2), fill=skin)
        return wrist

    def leg(
        self, hip, angle_deg: float, bend_deg: float, colour_factor: float, side: bool, shorten: float = 0.0
    ) -> None:
        """One leg from ``hip``; ``shorten`` lifts the foot (a step seen from the front)."""
        F, p = self.F, self.p
        width = 0.072 * F * math.sqrt(self.b)
        thigh, shin = 0.22 * F, 0.215 * F * (1.0 - shorten)
        a = math.radians(angle_deg)
        knee = (hip[0] + thigh * math.sin(a), hip[1] + thigh * math.cos(a))
        a2 = a - math.radians(bend_deg)
        ankle = (knee[0] + shin * math.sin(a2), knee[1] + shin * math.cos(a2))
        cloth = _shade(p.bottom, colour_factor)
        skin = _shade(p.skin, colour_factor)
        if p.bottom_kind == "trousers":
            self.limb(hip, knee, width, cloth)
            self.limb(knee, ankle, width * 0.9, cloth)
        else:
            self.limb(hip, knee, width * 0.78, skin)
            self.limb(knee, ankle, width * 0.7, skin)
            if p.bottom_kind == "shorts":
                mid = ((hip[0] + knee[0]) / 2, (hip[1] + knee[1]) / 2)
                self.limb(hip, mid, width * 1.05, cloth)
        shoe = _shade(p.shoes, colour_factor)
        h = 0.035 * F
        if side:
            self.ellipse((ankle[0] - 0.03 * F, ankle[1] - h * 0.4, ankle[0] + 0.065 * F, ankle[1] + h), shoe)
        else:
            self.ellipse((ankle[0] - width * 0.55, ankle[1] - h * 0.4, ankle[0] + width * 0.55, ankle[1] + h), shoe)

    def skirt(self, view: str) -> None:
        if self.p.bottom_kind != "skirt":
            return
        F, b = self.F, self.b
        half_top = (0.095 if view != "side" else 0.065) * F * b
        half_hem = (0.14 if view != "side" else 0.1) * F * b
        y0, y1 = self.waist_y, self.top + 0.72 * F
        self.poly(
            [(self.cx - half_top, y0), (self.cx + half_top, y0), (self.cx + half_hem, y1), (self.cx - half_hem, y1)],
            self.p.bottom,
        )

    def head(self, view: str) -> None:
        F, p, cx = self.F, self.p, self.cx
        cy = self.top + 0.065 * F
        rx, ry = 0.05 * F, 0.064 * F
        hx = cx + (0.012 * F if view == "side" else 0.0)
        head_box = (hx - rx, cy - ry, hx + rx, cy + ry)
        hair_box = (hx - rx * 1.08, cy - ry * 1.08, hx + rx * 1.08, cy + ry * 1.02)
        neck = 0.026 * F
        self.d.rectangle((cx - neck, cy + ry * 0.6, cx + neck, self.shoulder_y + 0.01 * F), fill=_shade(p.skin, 0.9))
        if p.hair_style == "long" and view == "side":
            self.d.rounded_rectangle(
                (hx - rx * 1.15, cy - ry * 0.5, hx + 0.2 * rx, self.shoulder_y + 0.07 * F), radius=rx * 0.5, fill=p.hair
            )
        elif p.hair_style == "long" and view == "front":  # two strands framing the face, over the shoulders
            for x0, x1 in ((hx - rx * 1.2, hx - rx * 0.5), (hx + rx * 0.5, hx + rx * 1.2)):
                self.d.rounded_rectangle(
                    (x0, cy - ry * 0.5, x1, self.shoulder_y + 0.07 * F), radius=rx * 0.3, fill=p.hair
                )
        self.ellipse(head_box, p.skin)
        hair = p.hair if p.hair_style != "bald" else _shade(p.skin, 0.85)
        if view == "back":
            self.d.ellipse(hair_box, fill=hair)
            if p.hair_style == "long":
                self.d.rounded_rectangle(
                    (hx - rx * 1.05, cy, hx + rx * 1.05, self.shoulder_y + 0.09 * F), radius=rx * 0.5, fill=p.hair
                )
        elif view == "front":
            if p.hair_style != "bald":
                self.d.chord(hair_box, 180, 360, fill=hair)
                self.d.rectangle((hx - rx * 1.05, cy - ry * 0.2, hx - rx * 0.85, cy + ry * 0.35), fill=hair)
                self.d.rectangle((hx + rx * 0.85, cy - ry * 0.2, hx + rx * 1.05, cy + ry * 0.35), fill=hair)
            e = max(1.0, 0.0065 * F)
            for ex in (hx - 0.019 * F, hx + 0.019 * F):
                self.d.ellipse((ex - e, cy - e, ex + e, cy + e), fill=(30, 20, 20))
        else:
            if p.hair_style != "bald":
                self.d.pieslice(hair_box, 95, 345, fill=hair)
            self.d.polygon(
                [(hx + rx * 0.9, cy - ry * 0.1), (hx + rx * 1.25, cy + ry * 0.2), (hx + rx * 0.9, cy + ry * 0.3)],
                fill=p.skin,
            )
            e = max(1.0, 0.006 * F)
            ex = hx + 0.028 * F
            self.d.ellipse((ex - e, cy - e, ex + e, cy + e), fill=(30, 20, 20))
        self.hat(view, hx, cy, rx, ry)

    def hat(self, view: str, hx: float, cy: float, rx: float, ry: float) -> None:
        p = self.p
        if p.hat == "none":
            return
        box = (hx - rx * 1.12, cy - ry * 1.15, hx + rx * 1.12, cy + ry * (0.3 if p.hat == "cap" else 0.5))
        self.d.chord(box, 180, 360, fill=p.hat_colour, outline=_shade(p.hat_colour, 0.6))
        brim = _shade(p.hat_colour, 0.8)
        if p.hat == "beanie":
            self.d.rectangle((hx - rx * 1.12, cy - ry * 0.5, hx + rx * 1.12, cy - ry * 0.25), fill=brim)
        elif view == "front":
            self.d.ellipse((hx - rx * 1.15, cy - ry * 0.55, hx + rx * 1.15, cy - ry * 0.2), fill=brim)
        elif view == "side":
            self.d.rectangle((hx, cy - ry * 0.45, hx + rx * 1.9, cy - ry * 0.25), fill=brim)

    # -- accessories ----------------------------------------------------------------------
    def backpack(self, view: str) -> None:
        F, b, p = self.F, self.b, self.p
        bag = p.bag_colour
        if view == "back":
            half = 0.085 * F * b
            y0, y1 = self.shoulder_y + 0.03 * F, self.waist_y - 0.02 * F
            self.d.rounded_rectangle(
                (self.cx - half, y0, self.cx + half, y1),
                radius=0.03 * F,
                fill=bag,
                outline=_shade(bag, 0.55),
                width=self.line,
            )
            self.d.rounded_rectangle(
                (self.cx - half * 0.7, y0 + 0.5 * (y1 - y0), self.cx + half * 0.7, y1 - 0.02 * F),
                radius=0.015 * F,
                fill=_shade(bag, 0.78),
            )
        elif view == "front":
            strap = 0.022 * F
            for sx in (-0.065 * F * b, 0.065 * F * b):
                self.d.rectangle(
                    (self.cx + sx - strap / 2, self.shoulder_y, self.cx + sx + strap / 2, self.shoulder_y + 0.2 * F),
                    fill=_shade(bag, 0.8),
                )
        else:  # side: the pack sticks out behind the back (drawn before the torso)
            x1 = self.cx - 0.04 * F * b
            self.d.rounded_rectangle(
                (x1 - 0.08 * F, self.shoulder_y + 0.03 * F, x1 + 0.02 * F, self.waist_y - 0.03 * F),
                radius=0.025 * F,
                fill=bag,
                outline=_shade(bag, 0.55),
                width=self.line,
            )

    def shoulder_bag(self, view: str) -> None:
        F, b, p = self.F, self.b, self.p
        bag = p.bag_colour
        sign = 1 if view != "back" else -1
        strap = max(2, int(0.016 * F))
        hip_x = self.cx + sign * 0.1 * F * b
        self.d.line(
            [(self.cx - sign * 0.08 * F * b, self.shoulder_y + 0.005 * F), (hip_x, self.waist_y - 0.03 * F)],
            fill=_shade(bag, 0.75),
            width=strap,
        )
        if view == "side":
            box = (self.cx - 0.05 * F, self.waist_y - 0.06 * F, self.cx + 0.05 * F, self.waist_y + 0.05 * F)
        else:
            x = hip_x + sign * 0.01 * F
            box = (
                min(x, x + sign * 0.08 * F),
                self.waist_y - 0.05 * F,
                max(x, x + sign * 0.08 * F),
                self.waist_y + 0.06 * F,
            )
        self.d.rounded_rectangle(box, radius=0.012 * F, fill=bag, outline=_shade(bag, 0.55), width=self.line)

    def handbag(self, wrist: tuple[float, float]) -> None:
        F, bag = self.F, self.p.bag_colour
        x, y = wrist
        self.d.line([(x, y), (x, y + 0.03 * F)], fill=_shade(bag, 0.6), width=max(1, int(0.008 * F)))
        self.d.rounded_rectangle(
            (x - 0.045 * F, y + 0.02 * F, x + 0.045 * F, y + 0.1 * F),
            radius=0.01 * F,
            fill=bag,
            outline=_shade(bag, 0.55),
            width=self.line,
        )

    # -- the whole figure ---------------------------------------------------------------
    def draw(self, view: str, phase: float) -> None:
        """view: front | back | side (facing right); phase in [-1, 1]: walking cycle."""
        F, b, p = self.F, self.b, self.p
        if view == "side":
            swing = 24.0 * phase
            if p.bag == "backpack":
                self.backpack(view)
            shoulder = (self.cx - 0.005 * F, self.shoulder_y + 0.03 * F)
            self.arm(shoulder, -swing * 0.9, 0.72)
            hip = (self.cx, self.hip_y)
            self.leg(hip, -swing, 18.0 if swing < 0 else 4.0, 0.75, side=True)
            self.leg(hip, swing, 18.0 if swing > 0 else 4.0, 1.0, side=True)
            self.skirt(view)
            self.torso(view)
            wrist = self.arm(shoulder, swing * 0.9, 1.0)
            if p.bag == "shoulder":
                self.shoulder_bag(view)
            elif p.bag == "handbag":
                self.handbag(wrist)
            self.head(view)
            return
        # front / back: limbs symmetric, the walking phase lifts one foot and swings the arms
        for sign in (-1, 1):
            hip = (self.cx + sign * 0.045 * F * b, self.hip_y)
            stepping = (phase > 0) == (sign > 0)
            self.leg(hip, sign * 2.0, 0.0, 1.0, side=False, shorten=0.1 * abs(phase) if stepping else 0.0)
        self.skirt(view)
        self.torso(view)
        wrists = {}
        for sign in (-1, 1):
            shoulder = (self.cx + sign * 0.1 * F * b, self.shoulder_y + 0.03 * F)
            wrists[sign] = self.arm(shoulder, sign * (6.0 + 4.0 * abs(phase)), 1.0)
        if p.bag == "backpack":
            self.backpack(view)
        elif p.bag == "shoulder":
            self.shoulder_bag(view)
        elif p.bag == "handbag":  # carried in the right hand: on the left of the image when seen from behind
            self.handbag(wrists[1 if view == "front" else -1])
        self.head(view)
