#include "method_panel.h"

#include <QCheckBox>
#include <QComboBox>
#include <QFileDialog>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QPushButton>
#include <QScrollArea>
#include <QSpinBox>
#include <QTabBar>
#include <QTabWidget>
#include <QVBoxLayout>

#include <algorithm>

namespace rudder::widgets {

MethodPanel::MethodPanel(QWidget* parent)
    : QWidget(parent), tabs_(new QTabWidget(this)), run_(new QPushButton("Run", this)),
      stop_(new QPushButton("Stop", this)), sweep_(new QPushButton("Sweep…", this)), live_(new QCheckBox("Live tuning", this)), seed_(new QSpinBox(this))
{
    for (const MethodInfo& m : allMethods()) {
        ids_.push_back(m.id);
        auto* page = new QWidget;
        auto* v = new QVBoxLayout(page);
        auto* presets = new QComboBox(page);
        presets->addItem("Presets…");
        for (const Preset& p : m.presets) presets->addItem(QString::fromStdString(p.name));
        presets->setEnabled(!m.presets.empty());
        presets->setToolTip("Hyper-parameters from the papers' tables");
        // Preset names cite their table and can be long: the combo must not set the window's width.
        presets->setSizeAdjustPolicy(QComboBox::AdjustToMinimumContentsLengthWithIcon);
        presets->setMinimumContentsLength(16);
        v->addWidget(presets);
        auto* form = new QFormLayout;
        form->setFieldGrowthPolicy(QFormLayout::AllNonFixedFieldsGrow);
        std::vector<std::pair<QLabel*, const ParamSpec*>> scaled;
        for (const ParamSpec& p : m.params) {
            auto* s = new ParamSlider(p, page);
            auto* label = new QLabel(QString::fromStdString(p.label), page);
            label->setToolTip(QString::fromStdString(p.help));
            form->addRow(label, s);
            sliders_[m.id][p.key] = s;
            if (!p.scaledLabel.empty()) scaled.push_back({label, &p});
            connect(s, &ParamSlider::committed, this, [this] {
                if (live_->isChecked()) emit liveTuneRequested();
            });
        }
        // The temperature labels say which units are active ("λ (× reward std)" or "λ (temperature)").
        if (auto* scale = slider(m.id, "scale"); scale && !scaled.empty()) {
            auto relabel = [scaled](double v) {
                for (const auto& [label, spec] : scaled)
                    label->setText(QString::fromStdString(v != 0 ? spec->scaledLabel : spec->label));
            };
            connect(scale, &ParamSlider::valueChanged, this, relabel);
            relabel(scale->value());
        }
        v->addLayout(form);
        // MCMC methods: β from pilot chains for a target acceptance rate (the engine's tuner).
        if (m.hasAcceptance && slider(m.id, "beta")) {
            auto* tune = new QPushButton("Tune β for 50 % acceptance", page);
            tune->setToolTip("Runs short pilot chains on the prompt for a ladder of β (about 8 small runs) and sets "
                             "β in absolute units (scale-free units off) to the value with half the proposals "
                             "accepted");
            v->addWidget(tune);
            tuneButtons_.push_back(tune);
            connect(tune, &QPushButton::clicked, this, [this] { emit tuneBetaRequested(0.5); });
        }
        // RE-Control: the value model it ascends, trained here or chosen as a file.
        if (m.needsValueModel) {
            auto* label = new QLabel(page);
            label->setWordWrap(true);
            valueLabels_.push_back(label);
            auto* train = new QPushButton("Train value model", page);
            train->setToolTip("Samples M responses per prompt from the base model, scores them with the reward and "
                              "trains V on their pre-logits (RE-Control's objective); progress and the loss and "
                              "calibration plots in the Value model view.  Kept beside the session and reused when "
                              "the models, prompts and training settings are the same.");
            auto* pick = new QPushButton("Use file…", page);
            pick->setToolTip("A value model trained before (rudder-cli train-value, or another session's .values folder)");
            auto* clear = new QPushButton("Clear", page);
            clear->setToolTip("Forget the file: the next Run trains (or finds) a value model for its prompts");
            auto* row = new QHBoxLayout;
            row->addWidget(train);
            row->addWidget(pick);
            row->addWidget(clear);
            v->addWidget(label);
            v->addLayout(row);
            tuneButtons_.push_back(train);
            tuneButtons_.push_back(pick);
            connect(train, &QPushButton::clicked, this, &MethodPanel::trainValueRequested);
            connect(pick, &QPushButton::clicked, this, [this] {
                const QString f = QFileDialog::getOpenFileName(this, "Value model", QString(), "Value models (*.safetensors)");
                if (!f.isEmpty()) emit valueModelChosen(f);
            });
            connect(clear, &QPushButton::clicked, this, [this] { emit valueModelChosen(QString()); });
        }
        v->addStretch(1);
        const std::string id = m.id;
        connect(presets, &QComboBox::activated, this, [this, id, presets](int i) {
            if (i > 0) applyPreset(id, i - 1);
            presets->setCurrentIndex(0);
        });
        auto* scroll = new QScrollArea;
        scroll->setWidget(page);
        scroll->setWidgetResizable(true);
        scroll->setFrameShape(QFrame::NoFrame);
        // Short tab labels so all six fit the dock's width; the tooltip has the full title and
        // the id the CLI takes.
        const QString label = QString::fromStdString(m.tabTitle());
        tabs_->addTab(scroll, label);
        tabs_->setTabToolTip(tabs_->count() - 1, QString::fromStdString(m.title + " (--method " + m.id + ")"));
    }
    setValueModel(QString(), QString());
    // Seven method tabs side by side set a 500-px minimum width: scroll them instead.
    tabs_->setUsesScrollButtons(true);
    tabs_->tabBar()->setExpanding(false);
    seed_->setRange(0, std::numeric_limits<int>::max());
    seed_->setValue(1);
    seed_->setToolTip("Random seed: the same seed and settings reproduce a run exactly");
    run_->setDefault(true);
    run_->setStyleSheet("font-weight: bold");
    stop_->setEnabled(false);
    live_->setToolTip("Re-run with a small budget each time a slider is released");
    // Two rows, so the panel fits a laptop's left column (one row needed 500 px).
    auto* bar = new QHBoxLayout;
    bar->addWidget(new QLabel("seed", this));
    bar->addWidget(seed_);
    bar->addWidget(live_);
    bar->addStretch(1);
    sweep_->setToolTip("Run a grid of this method's settings (one or two parameters, several seeds) against "
                       "best-of-n at the same budget; results in the Sweep view");
    auto* actions = new QHBoxLayout;
    actions->addStretch(1);
    actions->addWidget(sweep_);
    actions->addWidget(run_);
    actions->addWidget(stop_);
    auto* l = new QVBoxLayout(this);
    l->setContentsMargins(2, 2, 2, 2);
    l->addWidget(tabs_, 1);
    l->addLayout(bar);
    l->addLayout(actions);
    connect(run_, &QPushButton::clicked, this, &MethodPanel::runRequested);
    connect(stop_, &QPushButton::clicked, this, &MethodPanel::stopRequested);
    connect(sweep_, &QPushButton::clicked, this, &MethodPanel::sweepRequested);
}

std::string MethodPanel::currentMethod() const { return ids_[size_t(std::max(0, tabs_->currentIndex()))]; }

void MethodPanel::setCurrentMethod(const std::string& id)
{
    auto it = std::find(ids_.begin(), ids_.end(), id);
    if (it != ids_.end()) tabs_->setCurrentIndex(int(it - ids_.begin()));
}

ParamSlider* MethodPanel::slider(const std::string& id, const std::string& key) const
{
    auto m = sliders_.find(id);
    if (m == sliders_.end()) return nullptr;
    auto s = m->second.find(key);
    return s == m->second.end() ? nullptr : s->second;
}

nlohmann::json MethodPanel::config(const std::string& id) const
{
    nlohmann::json c = nlohmann::json::object();
    for (const ParamSpec& p : methodInfo(id).params) {
        const double v = slider(id, p.key)->value();
        if (p.integer) c[p.key] = static_cast<int64_t>(std::llround(v));
        else c[p.key] = v;
    }
    if (methodInfo(id).needsValueModel && !valueModel_.isEmpty()) c["value_model"] = valueModel_.toStdString();
    return c;
}

void MethodPanel::setTrainedValueModel(const QString& description)
{
    valueModel_.clear();
    for (QLabel* l : valueLabels_)
        l->setText("Value model: " + description +
                   " — the next Run uses it while the prompts and training settings stay the same (Use file… pins one).");
}

void MethodPanel::setValueModel(const QString& path, const QString& description)
{
    valueModel_ = path;
    for (QLabel* l : valueLabels_)
        l->setText(path.isEmpty() ? QString("Value model: none chosen — Run trains one on the prompts (or reuses the one "
                                            "trained before on the same prompts and settings).")
                                  : "Value model: " + (description.isEmpty() ? path : description));
}

void MethodPanel::setConfig(const std::string& id, const nlohmann::json& values)
{
    if (!values.is_object()) return;
    for (auto it = values.begin(); it != values.end(); ++it)
        if (auto* s = slider(id, it.key()); s && it->is_number()) s->setValue(it->get<double>());
    if (values.contains("value_model") && values["value_model"].is_string())
        setValueModel(QString::fromStdString(values["value_model"].get<std::string>()), QString());
}

void MethodPanel::applyPreset(const std::string& id, int presetIndex)
{
    const auto& presets = methodInfo(id).presets;
    if (presetIndex >= 0 && presetIndex < int(presets.size())) setConfig(id, presets[size_t(presetIndex)].values);
}

uint64_t MethodPanel::seed() const { return uint64_t(seed_->value()); }
void MethodPanel::setSeed(uint64_t s) { seed_->setValue(int(std::min<uint64_t>(s, std::numeric_limits<int>::max()))); }
bool MethodPanel::liveTuning() const { return live_->isChecked(); }
void MethodPanel::setLiveTuning(bool on) { live_->setChecked(on); }

void MethodPanel::setRunning(bool running)
{
    for (QPushButton* b : tuneButtons_) b->setEnabled(!running);
    run_->setEnabled(!running);
    sweep_->setEnabled(!running);
    stop_->setEnabled(running);
}

nlohmann::json MethodPanel::smallBudget(const std::string& id, nlohmann::json c)
{
    for (const auto& [k, v] : methodInfo(id).liveCaps)
        if (c.contains(k) && c[k].is_number() && c[k].get<double>() > double(v)) c[k] = v;
    return c;
}

} // namespace rudder::widgets
