#include "models_panel.h"

#include <QComboBox>
#include <QFileDialog>
#include <QFileInfo>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QProgressBar>
#include <QPushButton>
#include <QToolButton>

#include "rudder/paths.h"
#include <QVBoxLayout>

namespace rudder::widgets {

namespace {
QComboBox* editableCombo(QWidget* parent, const QString& placeholder)
{
    auto* c = new QComboBox(parent);
    c->setEditable(true);
    c->setInsertPolicy(QComboBox::NoInsert);
    c->setSizeAdjustPolicy(QComboBox::AdjustToMinimumContentsLengthWithIcon);
    c->setMinimumContentsLength(18);
    c->lineEdit()->setPlaceholderText(placeholder);
    return c;
}
QWidget* withBrowse(QWidget* parent, QComboBox* combo, const QString& caption)
{
    auto* w = new QWidget(parent);
    auto* l = new QHBoxLayout(w);
    l->setContentsMargins(0, 0, 0, 0);
    l->addWidget(combo, 1);
    auto* b = new QToolButton(w);
    b->setText("…");
    b->setToolTip("Choose a Hugging Face model directory");
    l->addWidget(b);
    QObject::connect(b, &QToolButton::clicked, w, [w, combo, caption] {
        const QString d = QFileDialog::getExistingDirectory(w, caption, combo->currentText());
        if (!d.isEmpty()) combo->setCurrentText(d);
    });
    return w;
}
} // namespace

ModelsPanel::ModelsPanel(QWidget* parent)
    : QWidget(parent), base_(editableCombo(this, "Hugging Face model directory")),
      reward_(editableCombo(this, "model directory, lexicon, or cmd:COMMAND")),
      gold_(editableCombo(this, "(none)")), device_(new QComboBox(this)), dtype_(new QComboBox(this)),
      load_(new QPushButton("Load models", this)), busy_(new QProgressBar(this)), status_(new QLabel(this))
{
    reward_->setToolTip("A reward model directory, 'lexicon' (built-in AFINN valence), or 'cmd:COMMAND' "
                        "(an external scorer reading JSON lines on stdin, writing one number per line)");
    gold_->setToolTip("An optional second reward that is only observed (never optimised): "
                      "watch it fall while the proxy rises to spot over-optimisation");
    gold_->addItem("");
    gold_->addItem("lexicon");
    // Both shipped proxies: the demo RM and its weak twin (few gold labels), under which
    // search visibly over-optimises against the lexicon gold.
    reward_->addItem(QString::fromStdString(demoRewardDir()));
    if (QFileInfo::exists(QString::fromStdString(demoSmallRewardDir())))
        reward_->addItem(QString::fromStdString(demoSmallRewardDir()));
    reward_->addItem("lexicon");
    device_->addItems({"auto", "cpu"});
    dtype_->addItems({"auto", "fp32", "bf16", "fp16"});
    device_->setToolTip("auto: CUDA when available, else CPU");
    dtype_->setToolTip("auto: bf16 on CUDA, fp32 on CPU");
    auto* form = new QFormLayout;
    form->addRow("base LM", withBrowse(this, base_, "Base language model"));
    form->addRow("reward", withBrowse(this, reward_, "Reward model"));
    form->addRow("gold", withBrowse(this, gold_, "Gold reward model"));
    auto* dev = new QHBoxLayout;
    dev->addWidget(device_);
    dev->addWidget(new QLabel("dtype", this));
    dev->addWidget(dtype_);
    dev->addStretch(1);
    form->addRow("device", dev);
    busy_->setRange(0, 0);
    busy_->setMaximumHeight(8);
    busy_->setTextVisible(false);
    busy_->hide();
    status_->setWordWrap(true);
    status_->setTextInteractionFlags(Qt::TextSelectableByMouse);
    auto* l = new QVBoxLayout(this);
    l->setContentsMargins(4, 4, 4, 4);
    l->addLayout(form);
    auto* row = new QHBoxLayout;
    row->addWidget(load_);
    row->addWidget(busy_, 1);
    l->addLayout(row);
    l->addWidget(status_);
    l->addStretch(1);
    connect(load_, &QPushButton::clicked, this, [this] {
        remember(base_->currentText());
        emit loadRequested();
    });
}

ModelChoice ModelsPanel::choice() const
{
    ModelChoice c;
    c.baseDir = base_->currentText().trimmed();
    c.reward = reward_->currentText().trimmed();
    c.gold = gold_->currentText().trimmed();
    c.device = device_->currentText();
    c.dtype = dtype_->currentText();
    return c;
}

void ModelsPanel::setChoice(const ModelChoice& c)
{
    base_->setCurrentText(c.baseDir);
    reward_->setCurrentText(c.reward);
    gold_->setCurrentText(c.gold);
    if (device_->findText(c.device) < 0) device_->addItem(c.device);
    device_->setCurrentText(c.device);
    dtype_->setCurrentText(c.dtype);
}

void ModelsPanel::setCudaAvailable(bool on)
{
    if (on && device_->findText("cuda") < 0) device_->addItem("cuda");
}

void ModelsPanel::setRecent(const QStringList& r)
{
    recent_ = r;
    const QString cur = base_->currentText();
    base_->clear();
    base_->addItems(recent_);
    base_->setCurrentText(cur);
}

void ModelsPanel::remember(const QString& entry)
{
    if (entry.isEmpty()) return;
    recent_.removeAll(entry);
    recent_.prepend(entry);
    while (recent_.size() > 10) recent_.removeLast();
    setRecent(recent_);
}

void ModelsPanel::setLoading(const QString& stage)
{
    load_->setEnabled(false);
    busy_->show();
    status_->setStyleSheet("color: palette(text)");
    status_->setText(stage);
}

void ModelsPanel::setLoaded(const QString& summary)
{
    load_->setEnabled(true);
    busy_->hide();
    status_->setStyleSheet("color: #1a7f37");
    status_->setText(summary);
}

void ModelsPanel::setFailed(const QString& message)
{
    load_->setEnabled(true);
    busy_->hide();
    status_->setStyleSheet("color: #b42318");
    status_->setText("Could not load: " + message);
}

QString ModelsPanel::statusText() const { return status_->text(); }

} // namespace rudder::widgets
