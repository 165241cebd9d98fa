#include "sweep_dialog.h"

#include <QCheckBox>
#include <QComboBox>
#include <QDialogButtonBox>
#include <QDoubleSpinBox>
#include <QFormLayout>
#include <QLabel>
#include <QLineEdit>
#include <QPushButton>
#include <QSpinBox>

#include "rudder/methods.h"
#include "rudder/error.h"
#include "rudder/sweep.h"

#include <algorithm>

namespace rudder::widgets {

namespace {
// The matched budget's fields, the same in both dialogs: axis and amount per prompt.
void setUpBudget(QSpinBox* seeds, QComboBox* axis, QDoubleSpinBox* budget)
{
    seeds->setRange(1, 20);
    axis->addItem("samples", "samples");
    axis->addItem("tokens", "tokens");
    axis->addItem("FLOPs", "flops");
    budget->setRange(1, 1e18);
    budget->setDecimals(0);
    budget->setValue(256);
}
} // namespace

SweepDialog::SweepDialog(const std::string& method, QWidget* parent)
    : QDialog(parent), method_(method), key1_(new QComboBox(this)), values1_(new QLineEdit(this)), key2_(new QComboBox(this)),
      values2_(new QLineEdit(this)), seeds_(new QSpinBox(this)), reference_(new QComboBox(this)), axis_(new QComboBox(this)),
      budget_(new QDoubleSpinBox(this)), name_(new QLineEdit(this)), status_(new QLabel(this))
{
    const MethodInfo& info = methodInfo(method);
    setWindowTitle(QString("Sweep %1").arg(QString::fromStdString(info.title)));
    key2_->addItem("(none)", QString());
    for (const auto& p : info.params) {
        const QString label = QString::fromStdString(p.label.empty() ? p.key : p.label);
        key1_->addItem(label, QString::fromStdString(p.key));
        key2_->addItem(label, QString::fromStdString(p.key));
    }
    values1_->setPlaceholderText("0.5, 1, 2, 4   or   log:0.001:1:4   or   lin:1:8:4");
    values2_->setPlaceholderText("values of the second parameter");
    setUpBudget(seeds_, axis_, budget_);
    reference_->addItem("best-of-n at the same budget", "bon");
    reference_->addItem("none", "");
    name_->setPlaceholderText("default: method, parameters and budget");
    status_->setWordWrap(true);
    auto* f = new QFormLayout(this);
    f->addRow("parameter", key1_);
    f->addRow("values", values1_);
    f->addRow("second parameter", key2_);
    f->addRow("its values", values2_);
    f->addRow("seeds per point", seeds_);
    f->addRow("compare with", reference_);
    f->addRow("budget axis", axis_);
    f->addRow("budget per prompt", budget_);
    f->addRow("name", name_);
    f->addRow(status_);
    auto* bb = new QDialogButtonBox(QDialogButtonBox::Ok | QDialogButtonBox::Cancel, this);
    bb->button(QDialogButtonBox::Ok)->setText("Run sweep");
    f->addRow(bb);
    connect(bb, &QDialogButtonBox::accepted, this, &QDialog::accept);
    connect(bb, &QDialogButtonBox::rejected, this, &QDialog::reject);
    for (QLineEdit* e : {values1_, values2_}) connect(e, &QLineEdit::textChanged, this, &SweepDialog::validate);
    for (QComboBox* c : {key1_, key2_}) connect(c, &QComboBox::currentIndexChanged, this, &SweepDialog::validate);
    connect(seeds_, &QSpinBox::valueChanged, this, &SweepDialog::validate);
    connect(reference_, &QComboBox::currentIndexChanged, this, &SweepDialog::validate);
    okButton_ = bb->button(QDialogButtonBox::Ok);
    validate();
}

SweepChoice SweepDialog::choice() const
{
    SweepChoice c;
    auto grid = [](QComboBox* k, QLineEdit* v) {
        QString vals = v->text().simplified().remove(' ');
        return k->currentData().toString().toStdString() + "=" + vals.toStdString();
    };
    c.grids.push_back(grid(key1_, values1_));
    if (!key2_->currentData().toString().isEmpty()) c.grids.push_back(grid(key2_, values2_));
    c.seeds = seeds_->value();
    c.reference = reference_->currentData().toString().toStdString();
    c.budgetAxis = axis_->currentData().toString().toStdString();
    c.budget = budget_->value();
    c.name = name_->text().trimmed().toStdString();
    return c;
}

void SweepDialog::setChoice(const SweepChoice& c)
{
    auto set = [](QComboBox* k, QLineEdit* v, const std::string& g) {
        const auto eq = g.find('=');
        k->setCurrentIndex(std::max(0, k->findData(QString::fromStdString(g.substr(0, eq)))));
        v->setText(eq == std::string::npos ? QString() : QString::fromStdString(g.substr(eq + 1)));
    };
    if (!c.grids.empty()) set(key1_, values1_, c.grids[0]);
    if (c.grids.size() > 1) set(key2_, values2_, c.grids[1]);
    else key2_->setCurrentIndex(0);
    seeds_->setValue(c.seeds);
    reference_->setCurrentIndex(std::max(0, reference_->findData(QString::fromStdString(c.reference))));
    axis_->setCurrentIndex(std::max(0, axis_->findData(QString::fromStdString(c.budgetAxis))));
    budget_->setValue(c.budget);
    name_->setText(QString::fromStdString(c.name));
    validate();
}

QString SweepDialog::problem() const { return problem_; }

CompareDialog::CompareDialog(const std::string& current, int64_t maxNewTokens, QWidget* parent)
    : QDialog(parent), seeds_(new QSpinBox(this)), axis_(new QComboBox(this)), budget_(new QDoubleSpinBox(this)),
      name_(new QLineEdit(this))
{
    setWindowTitle("Compare methods at the same budget");
    auto* f = new QFormLayout(this);
    auto* note = new QLabel(QString("Each method runs with its own tab's settings, at the same budget and with responses of "
                                    "%1 tokens (the current method's), against best-of-n; every method × seed is a run "
                                    "of the session, and the reward curves then show each method's mean ± se.")
                                .arg(maxNewTokens),
                            this);
    note->setWordWrap(true);
    f->addRow(note);
    for (const auto& m : allMethods()) {
        if (m.drawsFromBase) continue;   // the reference
        // ARGS and RE-Control have no budget knob: one decode per prompt, at their own cost.
        auto* b = new QCheckBox(QString::fromStdString(m.title) + (m.budgetKnob == BudgetKnob::None ? " (own cost)" : ""), this);
        b->setChecked(m.id == current);
        boxes_.push_back({m.id, b});
        f->addRow(b);
    }
    setUpBudget(seeds_, axis_, budget_);
    seeds_->setValue(3);
    name_->setPlaceholderText("default: the methods and the budget");
    f->addRow("seeds", seeds_);
    f->addRow("budget axis", axis_);
    f->addRow("budget per prompt", budget_);
    f->addRow("name", name_);
    auto* bb = new QDialogButtonBox(QDialogButtonBox::Ok | QDialogButtonBox::Cancel, this);
    bb->button(QDialogButtonBox::Ok)->setText("Run comparison");
    f->addRow(bb);
    connect(bb, &QDialogButtonBox::accepted, this, &QDialog::accept);
    connect(bb, &QDialogButtonBox::rejected, this, &QDialog::reject);
}

CompareChoice CompareDialog::choice() const
{
    CompareChoice c;
    for (const auto& [id, b] : boxes_)
        if (b->isChecked()) c.methods.push_back(id);
    c.seeds = seeds_->value();
    c.budgetAxis = axis_->currentData().toString().toStdString();
    c.budget = budget_->value();
    c.name = name_->text().trimmed().toStdString();
    return c;
}

void SweepDialog::validate()
{
    problem_.clear();
    const SweepChoice c = choice();
    size_t points = 1;
    try {
        std::vector<std::string> keys;
        for (const auto& g : c.grids) {
            const SweepAxis a = parseSweepAxis(g);
            if (std::find(keys.begin(), keys.end(), a.key) != keys.end()) throw UsageError("the two parameters are the same");
            keys.push_back(a.key);
            points *= a.values.size();
        }
    } catch (const std::exception& e) {
        problem_ = QString::fromStdString(e.what());
    }
    values2_->setEnabled(!key2_->currentData().toString().isEmpty());
    status_->setText(problem_.isEmpty() ? QString("%1 grid points × %2 seeds (+ the reference): %3 runs")
                                              .arg(points)
                                              .arg(seeds_->value())
                                              .arg(int(points + (c.reference.empty() ? 0 : 1)) * seeds_->value())
                                        : problem_);
    if (okButton_) okButton_->setEnabled(problem_.isEmpty());
}

} // namespace rudder::widgets
