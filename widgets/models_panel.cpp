#include "models_panel.h"

#include <QComboBox>
#include <QFileDialog>
#include <QFileInfo>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QMenu>
#include <QProgressBar>
#include <QPushButton>
#include <QToolButton>

#include <QVBoxLayout>

#include "rudder/hf_cache.h"
#include "rudder/paths.h"

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
// The Hugging Face cache's models as a menu: picking one puts its repo id in the field.  Read
// when the menu opens (a download made meanwhile shows up); the other role's models are listed
// disabled, so a reward model cannot be picked as the base LM by accident.
QToolButton* cachedButton(QWidget* parent, QComboBox* combo, const char* wantedKind)
{
    auto* b = new QToolButton(parent);
    b->setText("HF cache…");
    b->setStyleSheet("QToolButton::menu-indicator { image: none; }");   // the arrow clipped the label
    b->setToolTip(QString("Models in the local Hugging Face cache (%1); nothing is downloaded")
                      .arg(QString::fromStdString(hubCacheDir())));
    b->setPopupMode(QToolButton::InstantPopup);
    auto* menu = new QMenu(b);
    b->setMenu(menu);
    const QString kind = wantedKind;
    QObject::connect(menu, &QMenu::aboutToShow, b, [menu, combo, kind] {
        menu->clear();
        const auto models = listCachedModels();
        for (const auto& m : models) {
            const double gb = double(m.bytes) / 1e9;
            const QString size = gb >= 1 ? QString("%1 GB").arg(gb, 0, 'f', 1) : QString("%1 MB").arg(m.bytes / 1e6, 0, 'f', 1);
            const QString repo = QString::fromStdString(m.repo) +
                                 (m.revision == "main" ? QString() : "@" + QString::fromStdString(m.revision));
            QAction* a = menu->addAction(QString("%1   ·  %2  ·  %3  ·  %4")
                                             .arg(repo, QString::fromStdString(m.architecture.empty() ? "?" : m.architecture),
                                                  size, QString::fromStdString(m.kind)));
            a->setData(repo);
            a->setToolTip(QString::fromStdString(m.directory));
            a->setEnabled(QString::fromStdString(m.kind) == kind);
            QObject::connect(a, &QAction::triggered, combo, [combo, repo] { combo->setCurrentText(repo); });
        }
        if (models.empty())
            menu->addAction(QString("no models in %1").arg(QString::fromStdString(hubCacheDir())))->setEnabled(false);
    });
    return b;
}

QWidget* withBrowse(QWidget* parent, QComboBox* combo, const QString& caption, const char* cachedKind)
{
    auto* w = new QWidget(parent);
    auto* l = new QHBoxLayout(w);
    l->setContentsMargins(0, 0, 0, 0);
    l->addWidget(combo, 1);
    l->addWidget(cachedButton(w, combo, cachedKind));
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
    : QWidget(parent), base_(editableCombo(this, "model directory, repo id (ORG/NAME) or http://HOST:PORT/v1")),
      tokenizer_(editableCombo(this, "the served model's directory or repo id (config + tokenizer)")),
      reward_(editableCombo(this, "model directory, repo id, lexicon, or cmd:COMMAND")),
      gold_(editableCombo(this, "(none)")), device_(new QComboBox(this)), dtype_(new QComboBox(this)),
      load_(new QPushButton("Load models", this)), busy_(new QProgressBar(this)), status_(new QLabel(this))
{
    base_->setToolTip("A model directory, a Hugging Face repo id ORG/NAME[@REVISION] found in the local cache "
                      "(the \"HF cache\" button lists them), or a serving engine http://HOST:PORT/v1[#MODEL] "
                      "(vLLM, any OpenAI-compatible server, rudder-cli serve; API key from $RUDDER_API_KEY)");
    tokenizer_->setToolTip("A remote model is tokenized here, so ids, templates and text metrics are exactly as for a "
                           "local model: its directory (config.json and tokenizer files; no weights needed) or a "
                           "cached repo id");
    reward_->setToolTip("A reward model directory or cached repo id, 'lexicon' (built-in AFINN valence), 'cmd:COMMAND' "
                        "(an external scorer reading JSON lines on stdin, writing one number per line), or a server: "
                        "http://HOST:PORT/pooling (vLLM's pooling API) or any other URL (plain JSON reward)");
    gold_->setToolTip("An optional second reward that is only observed (never optimised): "
                      "watch it fall while the proxy rises to spot over-optimisation; or answer:FIELD, accuracy "
                      "against the reference answer in FIELD of each dataset row (the Dataset tab sets it)");
    gold_->addItem("");
    gold_->addItem("lexicon");
    gold_->addItem("answer");
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
    form_ = form;
    form->addRow("base LM", withBrowse(this, base_, "Base language model", "causal LM"));
    tokenizerRow_ = withBrowse(this, tokenizer_, "The served model's tokenizer", "causal LM");
    form->addRow("tokenizer", tokenizerRow_);
    form->addRow("reward", withBrowse(this, reward_, "Reward model", "reward model"));
    form->addRow("gold", withBrowse(this, gold_, "Gold reward model", "reward model"));
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
    // The tokenizer row only matters for a server: shown while the base field holds a URL.
    connect(base_, &QComboBox::currentTextChanged, this, [this] { showTokenizerRow(); });
    showTokenizerRow();
}

bool ModelsPanel::tokenizerShown() const { return form_->isRowVisible(tokenizerRow_); }

void ModelsPanel::showTokenizerRow()
{
    const QString b = base_->currentText().trimmed();
    form_->setRowVisible(tokenizerRow_, b.startsWith("http://") || b.startsWith("https://"));
}

ModelChoice ModelsPanel::choice() const
{
    ModelChoice c;
    c.baseDir = base_->currentText().trimmed();
    c.tokenizer = tokenizer_->currentText().trimmed();
    c.reward = reward_->currentText().trimmed();
    c.gold = gold_->currentText().trimmed();
    c.device = device_->currentText();
    c.dtype = dtype_->currentText();
    return c;
}

void ModelsPanel::setChoice(const ModelChoice& c)
{
    base_->setCurrentText(c.baseDir);
    tokenizer_->setCurrentText(c.tokenizer);
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
