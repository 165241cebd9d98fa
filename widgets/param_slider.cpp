#include "param_slider.h"

#include <QDoubleSpinBox>
#include <QHBoxLayout>
#include <QLocale>
#include <QSignalBlocker>
#include <QSlider>

#include <algorithm>
#include <cmath>

namespace rudder::widgets {

namespace {
// Shows 0.3 rather than 0.300000 while keeping the decimals needed for 1e-4.
class CompactSpinBox : public QDoubleSpinBox {
public:
    using QDoubleSpinBox::QDoubleSpinBox;
    QString textFromValue(double v) const override
    {
        return decimals() == 0 ? QString::number(v, 'f', 0) : QLocale().toString(v, 'g', 6);
    }
    // Accepts what textFromValue writes, including 1e-05.
    double valueFromText(const QString& t) const override
    {
        bool ok = false;
        const double v = QLocale().toDouble(t.trimmed(), &ok);
        return ok ? v : value();
    }
    QValidator::State validate(QString& t, int&) const override
    {
        bool ok = false;
        const double v = QLocale().toDouble(t.trimmed(), &ok);
        if (!ok) return QValidator::Intermediate;
        return v >= minimum() && v <= maximum() ? QValidator::Acceptable : QValidator::Intermediate;
    }
};
// Log sliders on a range that starts at 0 map through log1p(v - min) so 0 stays reachable.
bool usesOffsetLog(const ParamSpec& s) { return s.logScale && s.min <= 0; }
}

ParamSlider::ParamSlider(const ParamSpec& spec, QWidget* parent)
    : QWidget(parent), spec_(spec), slider_(new QSlider(Qt::Horizontal, this)), box_(new CompactSpinBox(this))
{
    auto* l = new QHBoxLayout(this);
    l->setContentsMargins(0, 0, 0, 0);
    l->addWidget(slider_, 3);
    l->addWidget(box_, 1);
    slider_->setRange(0, kTicks);
    box_->setRange(spec.min, spec.max);
    int decimals = 0;
    if (!spec.integer) {
        // Enough digits to show the smallest value of the range with three significant figures.
        const double smallest = spec.min > 0 ? spec.min : std::min(0.001, spec.max / 1000);
        decimals = std::clamp(int(std::ceil(-std::log10(smallest))) + 2, 2, 8);
        if (!spec.logScale) decimals = std::max(decimals, 4);
    }
    box_->setDecimals(decimals);
    box_->setStepType(QAbstractSpinBox::AdaptiveDecimalStepType);
    box_->setKeyboardTracking(false);
    box_->setMinimumWidth(90);
    const QString tip = QString::fromStdString(spec.help) +
                        QString(" [%1 … %2%3]").arg(spec.min).arg(spec.max).arg(spec.logScale ? ", log scale" : "");
    slider_->setToolTip(tip);
    box_->setToolTip(tip);
    setValue(spec.def);

    connect(slider_, &QSlider::valueChanged, this, &ParamSlider::fromSlider);
    connect(slider_, &QSlider::sliderReleased, this, [this] { emit committed(value()); });
    connect(box_, &QDoubleSpinBox::valueChanged, this, &ParamSlider::fromBox);
    connect(box_, &QDoubleSpinBox::editingFinished, this, [this] { emit committed(value()); });
}

double ParamSlider::value() const { return box_->value(); }

double ParamSlider::valueAt(int tick) const
{
    const double t = std::clamp(double(tick) / kTicks, 0.0, 1.0);
    double v;
    if (usesOffsetLog(spec_))
        v = spec_.min + std::expm1(t * std::log1p(spec_.max - spec_.min));
    else if (spec_.logScale)
        v = std::exp(std::log(spec_.min) + t * (std::log(spec_.max) - std::log(spec_.min)));
    else
        v = spec_.min + t * (spec_.max - spec_.min);
    if (spec_.integer) v = std::round(v);
    return std::clamp(v, spec_.min, spec_.max);
}

int ParamSlider::tickFor(double v) const
{
    v = std::clamp(v, spec_.min, spec_.max);
    if (spec_.max <= spec_.min) return 0;
    double t;
    if (usesOffsetLog(spec_))
        t = std::log1p(v - spec_.min) / std::log1p(spec_.max - spec_.min);
    else if (spec_.logScale)
        t = (std::log(v) - std::log(spec_.min)) / (std::log(spec_.max) - std::log(spec_.min));
    else
        t = (v - spec_.min) / (spec_.max - spec_.min);
    return int(std::lround(t * kTicks));
}

void ParamSlider::setValue(double v)
{
    if (std::isnan(v)) v = spec_.def;
    v = std::clamp(v, spec_.min, spec_.max);
    if (spec_.integer) v = std::round(v);
    box_->setValue(v);   // fromBox moves the slider and emits valueChanged
    const QSignalBlocker b(slider_);
    slider_->setValue(tickFor(box_->value()));
}

void ParamSlider::fromSlider(int tick)
{
    if (syncing_) return;
    syncing_ = true;
    box_->setValue(valueAt(tick));
    syncing_ = false;
    emit valueChanged(value());
}

void ParamSlider::fromBox(double v)
{
    if (spec_.integer && v != std::round(v)) {
        box_->setValue(std::round(v));
        return;
    }
    if (!syncing_) {
        syncing_ = true;
        slider_->setValue(tickFor(v));
        syncing_ = false;
    }
    if (!syncing_) emit valueChanged(v);
}

} // namespace rudder::widgets
