// A hyper-parameter as a slider with a numeric box, built from the methods table's ParamSpec.
// The numeric box holds the value; the slider is a coarse (optionally logarithmic) view of it.
#pragma once
#include <QWidget>

#include "rudder/methods.h"

class QSlider;
class QDoubleSpinBox;

namespace rudder::widgets {

class ParamSlider : public QWidget {
    Q_OBJECT
public:
    static constexpr int kTicks = 1000;

    explicit ParamSlider(const ParamSpec& spec, QWidget* parent = nullptr);

    const ParamSpec& spec() const { return spec_; }
    double value() const;
    void setValue(double v);                  // clamped to [min, max], rounded for integers

    // Slider position <-> value (exposed for tests).
    double valueAt(int tick) const;
    int tickFor(double v) const;

    QSlider* slider() const { return slider_; }
    QDoubleSpinBox* box() const { return box_; }

signals:
    void valueChanged(double v);
    void committed(double v);   // slider released or box edited: "live tuning" re-runs here

private:
    void fromSlider(int tick);
    void fromBox(double v);

    ParamSpec spec_;
    QSlider* slider_;
    QDoubleSpinBox* box_;
    bool syncing_ = false;
};

} // namespace rudder::widgets
