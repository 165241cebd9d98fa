// Method panel: a tab per alignment method with every hyper-parameter as a ParamSlider, the
// papers' presets, the seed, Run / Stop and "live tuning" (a released slider re-runs small).
#pragma once
#include <QWidget>

#include <map>
#include <vector>

#include <nlohmann/json.hpp>

#include "param_slider.h"

class QTabWidget;
class QPushButton;
class QCheckBox;
class QSpinBox;
class QComboBox;
class QLabel;

namespace rudder::widgets {

class MethodPanel : public QWidget {
    Q_OBJECT
public:
    explicit MethodPanel(QWidget* parent = nullptr);

    std::string currentMethod() const;
    void setCurrentMethod(const std::string& id);
    nlohmann::json config(const std::string& id) const;   // every key of the method's table
    nlohmann::json config() const { return config(currentMethod()); }
    void setConfig(const std::string& id, const nlohmann::json& values);   // missing keys keep their value
    void applyPreset(const std::string& id, int presetIndex);
    uint64_t seed() const;
    void setSeed(uint64_t s);
    bool liveTuning() const;
    void setLiveTuning(bool on);
    void setRunning(bool running);
    ParamSlider* slider(const std::string& id, const std::string& key) const;
    // RE-Control's value model: the file its runs use ("" = the Run trains or finds one) and a
    // line describing it.  config() carries it as "value_model".
    void setValueModel(const QString& path, const QString& description);
    // A model just trained (or found) for the current prompts and training settings: shown, not
    // pinned — the next Run finds it again by its training key, and trains a new one when a
    // training slider or the prompts have changed since.
    void setTrainedValueModel(const QString& description);
    QString valueModel() const { return valueModel_; }

    // A copy of `config` with a small budget, for live tuning (a few samples, short responses).
    static nlohmann::json smallBudget(const std::string& id, nlohmann::json config);

    QPushButton* runButton() const { return run_; }
    QPushButton* stopButton() const { return stop_; }
    QPushButton* sweepButton() const { return sweep_; }

signals:
    void runRequested();
    void sweepRequested();   // "Sweep…": a grid of this method's settings against best-of-n
    void stopRequested();
    void liveTuneRequested();   // a slider was released with live tuning on
    void tuneBetaRequested(double targetAcceptance);   // QAlign's "Tune β" button
    void trainValueRequested();          // RE-Control's "Train value model" button
    void valueModelChosen(QString path); // RE-Control's "Use file…" (empty: cleared)

private:
    QTabWidget* tabs_;
    QPushButton* run_;
    QPushButton* stop_;
    QPushButton* sweep_;
    QCheckBox* live_;
    QSpinBox* seed_;
    std::map<std::string, std::map<std::string, ParamSlider*>> sliders_;
    std::vector<std::string> ids_;
    std::vector<QPushButton*> tuneButtons_;
    QString valueModel_;
    std::vector<QLabel*> valueLabels_;
};

} // namespace rudder::widgets
